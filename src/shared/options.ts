// Every option of the daemon, described once: its name (the long option, and the key
// of the configuration file), the kind of value with its range, its default, which
// process reads it and its help. The command line, the configuration file, the range
// checks, the man page's list (a test compares them) and the settings the monitor is
// given are all derived from this table.

import { InvalidArgumentError } from 'commander';
import { StartupError, messageOf } from './errors.js';
import {
  DEFAULT_PARAMS,
  HASH_KINDS,
  MAX_DELAY_MS,
  MAX_HASH_MAX,
  MAX_MAX_PORTS,
  SLOW_CONTACTS,
  crossProblems,
  type DetectorParams,
  type HashKind,
  type Problem,
} from './params.js';
import {
  MAX_IGNORE_PORTS,
  MAX_IGNORE_SOURCES,
  formatCidr,
  formatPortRange,
  parseCidr,
  parsePortRange,
  type PortRange,
  type SourceNetwork,
} from './networks.js';
import { PRESET_NAMES, type PresetName } from './presets.js';
import { SOCKET_TABLES } from './fds.js';
import { MAX_BROADCASTS, formatAddress, parseAddress } from './ipv4.js';
import { absolutePath, choice, seconds, text, wholeNumber, type ValueType } from './values.js';

/** Read when present; a file named with --config must exist. */
export const DEFAULT_CONFIG_PATH = '/etc/scanlogd.conf';

/** Which process reads an option's value: the monitor gets only its own and the shared ones. */
export type Reader = 'capture' | 'monitor' | 'both';

interface Common<R extends Reader> {
  help: string;
  readBy: R;
  /** The one-letter form, such as -f. */
  short?: string;
  /** Left out of --help and of the configuration file: set by the daemon for itself. */
  hidden?: boolean;
  /** Says how the process is started, so only its command line may give it (the configuration file refuses it). */
  commandLineOnly?: true;
}

export interface SwitchSpec<R extends Reader = Reader> extends Common<R> {
  kind: 'switch';
}

export interface ValueSpec<T, V, R extends Reader = Reader> extends Common<R> {
  kind: 'value';
  /** What --help calls the value, such as <seconds>. */
  arg: string;
  type: ValueType<T>;
  /** Null: none, or (with `derived`) worked out from other options. */
  default: V;
  /** How --help and the man page write the default, when not as `type` formats it. */
  defaultText?: string;
  /** Worked out from other options unless given (scanlogd's derived params). */
  derived?: true;
  /** The detector parameter it sets. */
  param?: keyof DetectorParams;
}

/** An option that may be given many times, each use adding one entry. */
export interface ListSpec<T, R extends Reader = Reader> extends Common<R> {
  kind: 'list';
  arg: string;
  type: ValueType<T>;
  max: number;
  /** What one entry is called in "is one X too many". */
  noun: string;
}

export type Spec<R extends Reader = Reader> = SwitchSpec<R> | ValueSpec<unknown, unknown, R> | ListSpec<unknown, R>;

const flag = <R extends Reader>(spec: Omit<SwitchSpec<R>, 'kind'>): SwitchSpec<R> => ({ kind: 'switch', ...spec });
/** A value with a default. */
const value = <T, R extends Reader>(spec: Omit<ValueSpec<T, T, R>, 'kind'>): ValueSpec<T, T, R> => ({ kind: 'value', ...spec });
/** A value that is absent (null) unless given. */
const optional = <T, R extends Reader>(spec: Omit<ValueSpec<T, T | null, R>, 'kind' | 'default'>): ValueSpec<T, T | null, R> => ({
  kind: 'value',
  default: null,
  ...spec,
});
/** A value derived from others unless given: once the settings are resolved it is always there. */
const derived = <R extends Reader>(
  spec: Omit<ValueSpec<number, number, R>, 'kind' | 'default' | 'derived'>,
): ValueSpec<number, number, R> => ({ kind: 'value', default: null as unknown as number, derived: true, ...spec });
const list = <T, R extends Reader>(spec: Omit<ListSpec<T, R>, 'kind'>): ListSpec<T, R> => ({ kind: 'list', ...spec });

function userName(name: string): void {
  if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(name) || name.length > 32) throw new InvalidArgumentError('is not a valid user name.');
}

/** A network device name as Linux allows it (IFNAMSIZ - 1 characters), or `any`. */
function interfaceName(name: string): void {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(name) || name === '.' || name === '..') {
    throw new InvalidArgumentError('is not a network interface name.');
  }
}

function jsonTarget(path: string): void {
  if (path !== '-' && !path.startsWith('/')) throw new InvalidArgumentError('must be an absolute path or - (standard output).');
}

/** "tcp,tcp6,udp,udp6" or a part of it, each table once. */
function socketTableList(value: string): void {
  const tables = value.split(',');
  if (!tables.every((t) => (SOCKET_TABLES as string[]).includes(t)) || new Set(tables).size !== tables.length)
    throw new InvalidArgumentError(`must list socket tables (${SOCKET_TABLES.join(', ')}), each once.`);
}

/** IPv4 addresses written "a.b.c.d,e.f.g.h" (none: empty), at most MAX_BROADCASTS. */
const ipv4List: ValueType<number[]> = {
  parse: (value) => {
    const list = value === '' ? [] : value.split(',');
    if (list.length > MAX_BROADCASTS) throw new InvalidArgumentError(`must list at most ${MAX_BROADCASTS} addresses.`);
    try {
      return list.map(parseAddress);
    } catch (err) {
      throw new InvalidArgumentError(`${messageOf(err)}.`);
    }
  },
  format: (addresses) => addresses.map(formatAddress).join(','),
};

const sourceNetwork: ValueType<SourceNetwork> = { parse: parseCidr, format: formatCidr };
const portRange: ValueType<PortRange> = { parse: parsePortRange, format: formatPortRange };
const d = DEFAULT_PARAMS;

/** The options in the order --help and the man page list them. */
export const OPTIONS = {
  foreground: flag({
    short: '-f',
    help: 'stay in the foreground (for systemd, containers and tests)',
    readBy: 'capture',
    // An init script that waits for the daemon to detach would wait for ever.
    commandLineOnly: true,
  }),
  check: flag({
    short: '-t',
    help: 'check the command line, the configuration file and what a start checks before it opens a socket, say "configuration OK" or the first problem, and exit',
    readBy: 'capture',
    commandLineOnly: true,
  }),
  printConfig: flag({
    short: '-T',
    help: 'check as --check does, then print the settings a start would run with, as a configuration file, and exit',
    readBy: 'capture',
    commandLineOnly: true,
  }),
  user: value({ arg: '<name>', type: text(userName), default: 'scanlogd', help: 'user to run as', readBy: 'capture' }),
  chroot: value({
    arg: '<dir>',
    type: absolutePath,
    default: '/var/empty',
    help: 'directory to chroot the capture process to',
    readBy: 'capture',
  }),
  syslogSocket: value({ arg: '<path>', type: absolutePath, default: '/dev/log', help: 'syslog socket to write to', readBy: 'monitor' }),
  pidfile: optional({
    arg: '<path>',
    type: absolutePath,
    help: 'write the daemon pid here, locked for its life (a second daemon with it is refused); its directory must be writable by --user',
    // Written, held locked and removed at its end by the capture process.
    readBy: 'both',
  }),
  stderr: flag({ help: 'also print each log line on standard error', readBy: 'monitor' }),
  config: optional({
    arg: '<path>',
    type: absolutePath,
    help: `configuration file: key = value lines, keys named as these options (default: ${DEFAULT_CONFIG_PATH}, if present)`,
    readBy: 'capture',
  }),
  preset: value<PresetName, 'capture'>({
    arg: '<name>',
    type: choice<PresetName>(PRESET_NAMES),
    default: 'classic',
    help: 'threshold preset; options given explicitly override it',
    readBy: 'capture',
  }),
  ignoreSource: list({
    arg: '<cidr>',
    type: sourceNetwork,
    max: MAX_IGNORE_SOURCES,
    noun: 'source',
    help: 'never count packets from this address or network (repeatable)',
    readBy: 'capture',
  }),
  ignorePort: list({
    arg: '<port[-port]>',
    type: portRange,
    max: MAX_IGNORE_PORTS,
    noun: 'port entry',
    help: 'never count packets to this destination port or range (repeatable)',
    readBy: 'capture',
  }),
  json: optional({
    arg: '<path>',
    type: text(jsonTarget),
    help: 'also write one JSON object per line for each scan, scan end and flood suppression (- for standard output, needs --foreground)',
    // Opened by the capture process; the monitor writes the descriptor and names the path.
    readBy: 'both',
  }),
  jsonSyslog: flag({
    help: 'also send each structured event (scan, scan end, flood suppression, counters) to syslog as "@cee: {JSON}" at daemon.info',
    readBy: 'monitor',
  }),
  statsInterval: optional({
    arg: '<seconds>',
    type: seconds(1000, 86_400_000),
    help: 'log a line of counters (daemon.info) this often; SIGUSR1 logs one at any time',
    // The capture process asks for the line with its counts, on the channel.
    readBy: 'capture',
  }),
  interface: optional({
    arg: '<name>',
    type: text(interfaceName),
    help: 'capture with libpcap on this device (or "any"), before the host firewall; default: a raw socket, after it',
    // The monitor's second stage: a device shows other hosts' traffic, the raw socket only this host's.
    readBy: 'both',
  }),
  promisc: flag({ help: 'with --interface: put the device in promiscuous mode to watch a whole segment', readBy: 'capture' }),
  ipv6: flag({ help: 'also watch IPv6 (TCP, and UDP with --udp)', readBy: 'both' }),
  udp: flag({ help: 'also detect UDP port scans', readBy: 'both' }),
  ephemeralPorts: optional({
    arg: '<first-last>',
    type: portRange,
    help:
      "with --udp: this host's client ports, where replies from DNS, NTP and QUIC servers land " +
      "(default: the kernel's ip_local_port_range)",
    // The capture process reads the kernel's range when none is given: the monitor opens no file.
    readBy: 'monitor',
  }),
  portWeightPriv: value({
    arg: '<n>',
    type: wholeNumber(1, 1000),
    default: d.portWeightPriv,
    param: 'portWeightPriv',
    help: 'weight of a port below 1024',
    readBy: 'monitor',
  }),
  portWeightHigh: value({
    arg: '<n>',
    type: wholeNumber(1, 1000),
    default: d.portWeightHigh,
    param: 'portWeightHigh',
    help: 'weight of a port from 1024 up',
    readBy: 'monitor',
  }),
  scanMinCount: value({
    arg: '<n>',
    type: wholeNumber(1, 10000),
    default: 7,
    help: 'privileged ports that make a scan; the weight threshold is this times the privileged weight',
    // The capture process turns it into the threshold the monitor is given.
    readBy: 'capture',
  }),
  scanWeightThreshold: derived({
    arg: '<n>',
    type: wholeNumber(1, 100000),
    defaultText: `derived, ${d.scanWeightThreshold}`,
    param: 'scanWeightThreshold',
    help: 'total port weight that makes a scan',
    readBy: 'monitor',
  }),
  maxPorts: derived({
    arg: '<n>',
    type: wholeNumber(1, MAX_MAX_PORTS),
    defaultText: `the threshold less one, ${d.maxPorts}`,
    param: 'maxPorts',
    help: 'ports remembered per source',
    readBy: 'monitor',
  }),
  scanDelay: value({
    arg: '<seconds>',
    type: seconds(1, MAX_DELAY_MS),
    default: d.scanDelayMs,
    param: 'scanDelayMs',
    help: 'longest gap between the packets of one scan',
    readBy: 'monitor',
  }),
  logCount: value({
    arg: '<n>',
    type: wholeNumber(1, 1000000),
    default: d.logCount,
    param: 'logCount',
    help: 'scans logged per flood window before going quiet',
    readBy: 'monitor',
  }),
  logDelay: value({
    arg: '<seconds>',
    type: seconds(1, MAX_DELAY_MS),
    default: d.logDelayMs,
    param: 'logDelayMs',
    help: 'flood window: quiet gap that re-opens logging',
    readBy: 'monitor',
  }),
  logMaxLength: value({
    arg: '<chars>',
    type: wholeNumber(0, 100000),
    default: d.logMaxLength,
    param: 'logMaxLength',
    help: 'message length limit, ports trimmed to fit; 0: none',
    readBy: 'monitor',
  }),
  sources: value({
    arg: '<n>',
    type: wholeNumber(1, 65536),
    default: d.listSize,
    param: 'listSize',
    help: 'source addresses tracked at once',
    readBy: 'monitor',
  }),
  hashSize: value({
    arg: '<n>',
    // One bucket would leave the hash nothing to shift by.
    type: wholeNumber(2, 65536),
    default: d.hashSize,
    param: 'hashSize',
    help: 'hash buckets, a power of two',
    readBy: 'monitor',
  }),
  hashMax: value({
    arg: '<n>',
    type: wholeNumber(1, MAX_HASH_MAX),
    default: d.hashMax,
    param: 'hashMax',
    help: `sources per hash bucket, at most ${MAX_HASH_MAX}: each packet may walk that many`,
    readBy: 'monitor',
  }),
  hash: value({
    arg: '<kind>',
    type: choice<HashKind>(HASH_KINDS),
    default: d.hash,
    param: 'hash',
    help:
      "how a source picks its hash bucket: classic is scanlogd's; keyed mixes in random bits chosen at start, " +
      "so spoofed addresses cannot be chosen to share a real scanner's bucket",
    readBy: 'monitor',
  }),
  slowScans: flag({
    help: 'also detect slow scans and sweeps: first contacts to ports nothing listens on (or, on a watched device, never answered), remembered for --slow-expiry',
    // The capture process opens this host's socket tables for the monitor.
    readBy: 'both',
  }),
  slowThreshold: value({
    arg: '<n>',
    type: wholeNumber(2, 1000),
    default: d.slowFailures,
    param: 'slowFailures',
    help: 'with --slow-scans: failed first contacts, less successful ones, that make a slow scan',
    readBy: 'monitor',
  }),
  sweepThreshold: value({
    arg: '<n>',
    type: wholeNumber(2, SLOW_CONTACTS),
    default: d.sweepHosts,
    param: 'sweepHosts',
    help: 'with --slow-scans: hosts on which first contacts to one port failed that make a sweep',
    readBy: 'monitor',
  }),
  slowExpiry: value({
    arg: '<seconds>',
    type: seconds(60_000, 86_400_000),
    default: d.slowIdleMs,
    param: 'slowIdleMs',
    help: 'with --slow-scans: a source is forgotten this long after its last new first contact',
    readBy: 'monitor',
  }),
  slowSources: value({
    arg: '<n>',
    type: wholeNumber(16, 65536),
    default: d.slowSources,
    param: 'slowSources',
    help: 'with --slow-scans: sources followed at once, per address family',
    readBy: 'monitor',
  }),
  statusFd: optional({
    arg: '<fd>',
    type: wholeNumber(3, 1000),
    help: 'where a detached start reports readiness or its start-up error',
    // The capture process gives the monitor its own copy, at a fixed descriptor.
    readBy: 'both',
    hidden: true,
  }),
  socketTables: optional({
    arg: '<tables>',
    type: text(socketTableList),
    help: "the kernel's socket tables handed to the monitor for --slow-scans, in descriptor order",
    // The capture process opens them and says which the monitor holds.
    readBy: 'monitor',
    hidden: true,
  }),
  broadcasts: optional({
    arg: '<addresses>',
    type: ipv4List,
    help: "this host's directed broadcast addresses at start, which --slow-scans never takes for a host",
    // The capture process reads them from the interfaces before it drops root.
    readBy: 'monitor',
    hidden: true,
  }),
} satisfies Record<string, Spec>;

export type OptionName = keyof typeof OPTIONS;

type ValueOf<S> = S extends SwitchSpec ? boolean : S extends ListSpec<infer T> ? T[] : S extends ValueSpec<unknown, infer V> ? V : never;

/** Every option's value, by name: the settings of the capture process. */
export type OptionValues = { [K in OptionName]: ValueOf<(typeof OPTIONS)[K]> };

/** The options the monitor reads. */
export type MonitorOptionName = { [K in OptionName]: (typeof OPTIONS)[K]['readBy'] extends 'capture' ? never : K }[OptionName];

export const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];

/** The long option without its dashes, and the key of the configuration file: "scan-delay" for scanDelay. */
export function longName(name: OptionName): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The option a long name (without dashes) names, or undefined. */
export function optionNamed(long: string): OptionName | undefined {
  return OPTION_NAMES.find((name) => longName(name) === long);
}

export function specOf(name: OptionName): Spec {
  return OPTIONS[name];
}

function specs(): Array<[OptionName, Spec]> {
  return OPTION_NAMES.map((name) => [name, specOf(name)]);
}

/** Every option at its default (a derived one still null). */
export function defaultValues(): OptionValues {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of specs()) {
    values[name] = spec.kind === 'switch' ? false : spec.kind === 'list' ? [] : spec.default;
  }
  return values as OptionValues;
}

/** The detector's parameters, from the options that set one. */
export function detectorParams(values: Pick<OptionValues, MonitorOptionName>): DetectorParams {
  const params: Record<string, unknown> = {};
  for (const [name, spec] of specs()) {
    if (spec.kind === 'value' && spec.param !== undefined) params[spec.param] = (values as Record<string, unknown>)[name];
  }
  return params as unknown as DetectorParams;
}

/**
 * What does not fit in a set of detector parameters: each value outside its option's
 * range (a derived one can be), then the rules between them (params.ts).
 */
export function checkParams(p: DetectorParams): Problem[] {
  const problems: Problem[] = [];
  for (const [name, spec] of specs()) {
    if (spec.kind !== 'value' || spec.param === undefined || spec.type.range === undefined) continue;
    const [min, max] = spec.type.range;
    const v = p[spec.param] as number;
    if (!Number.isInteger(v) || v < min || v > max) {
      const unit = spec.type.unit === undefined ? '' : ` (${spec.type.unit})`;
      problems.push({
        options: [longName(name)],
        text: `--${longName(name)}${unit} must be a whole number from ${min} to ${max}, not ${v}`,
      });
    }
  }
  return problems.length > 0 ? problems : crossProblems(p);
}

/** What the monitor runs with: the values of the options it reads, and the detector's parameters. */
export interface MonitorSettings extends Pick<OptionValues, MonitorOptionName> {
  params: DetectorParams;
}

export const MONITOR_OPTION_NAMES = OPTION_NAMES.filter((name) => specOf(name).readBy !== 'capture') as MonitorOptionName[];

/** How the monitor's command line starts: its role; its settings follow as one argument (monitorArgument). */
export const MONITOR_ROLE = ['--role', 'monitor'] as const;

/** The monitor's settings as one argument: each of its options as the table writes it (a switch as true or false). */
export function monitorArgument(values: Pick<OptionValues, MonitorOptionName>): string {
  const out: Record<string, unknown> = {};
  for (const name of MONITOR_OPTION_NAMES) {
    const spec = specOf(name);
    const v: unknown = values[name];
    if (spec.kind === 'switch') out[name] = v;
    else if (spec.kind === 'list') out[name] = (v as unknown[]).map((entry) => spec.type.format(entry));
    else out[name] = v === null ? null : spec.type.format(v);
  }
  return JSON.stringify(out);
}

/**
 * The monitor's settings from its argument, each value read by its option's own
 * parser and the whole checked as the capture process checked it. Throws a
 * StartupError naming what is wrong.
 */
export function parseMonitorArgument(argument: string): MonitorSettings {
  const fail = (why: string): never => {
    throw new StartupError(`monitor settings: ${why}`);
  };
  let given: unknown;
  try {
    given = JSON.parse(argument);
  } catch {
    fail('not JSON');
  }
  if (typeof given !== 'object' || given === null || Array.isArray(given)) return fail('not an object');
  const fields = given as Record<string, unknown>;
  const unexpected = Object.keys(fields).find((key) => !(MONITOR_OPTION_NAMES as string[]).includes(key));
  if (unexpected !== undefined) fail(`${unexpected} is not a setting of the monitor`);
  const values: Record<string, unknown> = {};
  for (const name of MONITOR_OPTION_NAMES) {
    const spec = specOf(name);
    const v = fields[name];
    try {
      if (spec.kind === 'switch' && typeof v === 'boolean') values[name] = v;
      else if (spec.kind === 'list' && Array.isArray(v) && v.every((e) => typeof e === 'string'))
        values[name] = v.map((e) => spec.type.parse(e));
      else if (spec.kind === 'value' && v === null && spec.default === null && spec.derived !== true) values[name] = null;
      else if (spec.kind === 'value' && typeof v === 'string') values[name] = spec.type.parse(v);
      else fail(`${name} is missing or of the wrong kind`);
    } catch (err) {
      if (err instanceof StartupError) throw err;
      fail(`${name}: ${messageOf(err)}`);
    }
  }
  const settings = values as unknown as MonitorSettings;
  settings.params = detectorParams(settings);
  const problems = checkParams(settings.params);
  if (problems.length > 0) fail(problems.map((p) => p.text).join('; '));
  return settings;
}
