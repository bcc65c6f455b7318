// The command line: every option with scanlogd's default, validated as it is read, and
// the settings both processes derive from it.

import { Command, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_PARAMS,
  HASH_KINDS,
  MAX_HASH_MAX,
  MAX_MAX_PORTS,
  checkParams,
  portsBelowThreshold,
  type DetectorParams,
  type HashKind,
} from './params.js';
import { VERSION } from './version.js';
import {
  MAX_IGNORE_PORTS,
  MAX_IGNORE_SOURCES,
  formatCidr,
  formatPortRange,
  isCidr6,
  parseCidr,
  parsePortRange,
  type PortRange,
  type SourceNetwork,
} from './allowlist.js';
import { ConfigError, DEFAULT_CONFIG_PATH, markRepeatable, parseConfig, readConfigFile } from './config.js';
import { PRESET_NAMES, presetValues, type PresetName } from './presets.js';
import { RUNTIME } from './runtime.js';

export type Role = 'capture' | 'monitor';

export interface Settings {
  role: Role;
  foreground: boolean;
  user: string;
  chroot: string;
  syslogSocket: string;
  pidfile: string | null;
  stderr: boolean;
  /** libpcap device to capture on; null for the raw socket (the default). */
  captureInterface: string | null;
  promiscuous: boolean;
  /** Where a background daemon reports readiness or its start-up error. */
  statusFd: number | null;
  /** --json: a file path, '-' for the capture process's standard output, or null. */
  json: string | null;
  /** --json-syslog: every structured event also to syslog, as `@cee: {JSON}` at daemon.info. */
  jsonSyslog: boolean;
  /** --stats-interval in milliseconds, or null for counters only on SIGUSR1. */
  statsIntervalMs: number | null;
  params: DetectorParams;
  /** --ipv6: IPv6 too (TCP, and UDP with --udp). */
  ipv6: boolean;
  /** --udp: UDP port scans too. */
  udp: boolean;
  /**
   * --ephemeral-ports: this host's client ports, where UDP replies land. Null until the
   * capture process fills it in from the kernel (it is given to the monitor explicitly).
   */
  ephemeralPorts: PortRange | null;
  /** Applied by the capture process: the monitor never sees these packets. */
  ignoreSources: SourceNetwork[];
  ignorePorts: PortRange[];
}

/** What --version prints, and the capture process at start: the runtime changes what the daemon can do. */
export const VERSION_LINE = `scanlogd-ts ${VERSION} (${RUNTIME})`;

function wholeNumber(min: number, max: number) {
  return (text: string): number => {
    if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    const n = Number(text);
    if (n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** Seconds with up to millisecond precision, returned in milliseconds. */
function seconds(text: string): number {
  if (!/^\d+(\.\d{1,3})?$/.test(text)) {
    throw new InvalidArgumentError('must be a positive number of seconds (up to 3 decimals).');
  }
  const ms = Math.round(Number(text) * 1000);
  if (ms < 1 || ms > 0x7fffffff) throw new InvalidArgumentError('must be more than 0 and at most 2147483.647 seconds.');
  return ms;
}

function absolutePath(text: string): string {
  if (!text.startsWith('/')) throw new InvalidArgumentError('must be an absolute path.');
  return text;
}

function jsonTarget(text: string): string {
  if (text !== '-' && !text.startsWith('/')) throw new InvalidArgumentError('must be an absolute path or - (standard output).');
  return text;
}

/** A network device name as Linux allows it (IFNAMSIZ - 1 characters), or `any`. */
function interfaceName(text: string): string {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(text) || text === '.' || text === '..') {
    throw new InvalidArgumentError('is not a network interface name.');
  }
  return text;
}

function role(text: string): Role {
  if (text !== 'capture' && text !== 'monitor') throw new InvalidArgumentError('must be capture or monitor.');
  return text;
}

function userName(text: string): string {
  if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(text) || text.length > 32) {
    throw new InvalidArgumentError('is not a valid user name.');
  }
  return text;
}

/** An option that may be given many times, each use adding one parsed entry (up to `max`). */
function listOption<T>(flags: string, description: string, parse: (text: string) => T, max: number, noun: string): Option {
  return markRepeatable(
    new Option(flags, description).argParser((text: string, previous: T[] | undefined): T[] => {
      const list = previous ?? [];
      const entry = parse(text);
      if (list.length >= max) throw new InvalidArgumentError(`is one ${noun} too many: at most ${max} are allowed.`);
      return [...list, entry];
    }),
  );
}

export function buildProgram(): Command {
  const d = DEFAULT_PARAMS;
  const program = new Command('scanlogd');
  program
    .description('Detect TCP port scans and log one line per scan to syslog.')
    .version(VERSION_LINE, '-V, --version')
    .helpOption('-h, --help', 'show this help')
    .option('-f, --foreground', 'stay in the foreground (for systemd, containers and tests)', false)
    .option('--user <name>', 'user to run as', userName, 'scanlogd')
    .option('--chroot <dir>', 'directory to chroot the capture process to', absolutePath, '/var/empty')
    .option('--syslog-socket <path>', 'syslog socket to write to', absolutePath, '/dev/log')
    .option('--pidfile <path>', 'write the daemon pid here; its directory must be writable by --user', absolutePath)
    .option('--stderr', 'also print each log line on standard error', false)
    .addOption(
      new Option(
        '--config <path>',
        `configuration file: key = value lines, keys named as these options (default: ${DEFAULT_CONFIG_PATH}, if present)`,
      ).argParser(absolutePath),
    )
    .addOption(
      new Option('--preset <name>', 'threshold preset; options given explicitly override it').choices(PRESET_NAMES).default('classic'),
    )
    .addOption(
      listOption(
        '--ignore-source <cidr>',
        'never count packets from this address or network (repeatable)',
        parseCidr,
        MAX_IGNORE_SOURCES,
        'source',
      ),
    )
    .addOption(
      listOption(
        '--ignore-port <port[-port]>',
        'never count packets to this destination port or range (repeatable)',
        parsePortRange,
        MAX_IGNORE_PORTS,
        'port entry',
      ),
    )
    .option(
      '--json <path>',
      'also write one JSON object per line for each scan, scan end and flood suppression (- for standard output, needs --foreground)',
      jsonTarget,
    )
    .option(
      '--json-syslog',
      'also send each structured event (scan, scan end, flood suppression, counters) to syslog as "@cee: {JSON}" at daemon.info',
      false,
    )
    .option(
      '--stats-interval <seconds>',
      'log a line of counters (daemon.info) this often; SIGUSR1 logs one at any time',
      wholeNumber(1, 86400),
    )
    .option(
      '--interface <name>',
      'capture with libpcap on this device (or "any"), before the host firewall; default: a raw socket, after it',
      interfaceName,
    )
    .option('--promisc', 'with --interface: put the device in promiscuous mode to watch a whole segment', false)
    .option('--ipv6', 'also watch IPv6 (TCP, and UDP with --udp)', false)
    .option('--udp', 'also detect UDP port scans', false)
    .option(
      '--ephemeral-ports <first-last>',
      "with --udp: this host's client ports, where replies from DNS, NTP and QUIC servers land (default: the kernel's ip_local_port_range)",
      parsePortRange,
    )
    .option('--port-weight-priv <n>', 'weight of a port below 1024', wholeNumber(1, 1000), d.portWeightPriv)
    .option('--port-weight-high <n>', 'weight of a port from 1024 up', wholeNumber(1, 1000), d.portWeightHigh)
    .option(
      '--scan-min-count <n>',
      'privileged ports that make a scan (weight threshold = this x privileged weight)',
      wholeNumber(1, 10000),
      7,
    )
    .option('--scan-weight-threshold <n>', 'total port weight that makes a scan (default: derived, 21)', wholeNumber(1, 100000))
    .option('--max-ports <n>', 'ports remembered per source (default: threshold - 1, 20)', wholeNumber(1, MAX_MAX_PORTS))
    .addOption(
      new Option('--scan-delay <seconds>', 'longest gap between the packets of one scan')
        .argParser(seconds)
        .default(d.scanDelayMs, String(d.scanDelayMs / 1000)),
    )
    .option('--log-count <n>', 'scans logged per flood window before going quiet', wholeNumber(1, 1000000), d.logCount)
    .addOption(
      new Option('--log-delay <seconds>', 'flood window: quiet gap that re-opens logging')
        .argParser(seconds)
        .default(d.logDelayMs, String(d.logDelayMs / 1000)),
    )
    .option('--log-max-length <chars>', 'message length limit, ports trimmed to fit (0: none)', wholeNumber(0, 100000), d.logMaxLength)
    .option('--sources <n>', 'source addresses tracked at once', wholeNumber(1, 65536), d.listSize)
    .option('--hash-size <n>', 'hash buckets (a power of two)', wholeNumber(2, 65536), d.hashSize)
    .addOption(
      new Option(
        '--hash <kind>',
        "how a source picks its hash bucket: classic (scanlogd's) or keyed (random bits chosen at start, so spoofed addresses cannot be chosen to share a real scanner's bucket)",
      )
        .choices(HASH_KINDS)
        .default(d.hash),
    )
    .option(
      '--hash-max <n>',
      `sources per hash bucket (at most ${MAX_HASH_MAX}: each packet may walk that many)`,
      wholeNumber(1, MAX_HASH_MAX),
      d.hashMax,
    )
    .addOption(new Option('--role <role>').argParser(role).default('capture').hideHelp())
    .addOption(new Option('--status-fd <fd>').argParser(wholeNumber(3, 1000)).hideHelp())
    .addHelpText(
      'after',
      '\nCapture: by default a raw socket sees TCP packets after the host firewall accepted\n' +
        'them, as scanlogd does; scans of ports the firewall drops go unseen. --interface\n' +
        'uses libpcap on that device instead and sees them before the firewall, with a\n' +
        "kernel filter that passes no pure ACK or PSH+ACK segment (so ACKs to a scanner's\n" +
        'ports never change its flags, as they can on the raw socket).\n' +
        '\nSeconds take up to three decimals. Threshold defaults are those of the classic preset\n' +
        '(scanlogd 2.2.8); sensitive and relaxed are described in scanlogd(8). The command line\n' +
        'overrides the configuration file, which overrides the preset. Without --foreground the\n' +
        'command returns once the daemon runs (exit 0) or with the reason it could not start (exit 1).',
    )
    .showHelpAfterError(false)
    .allowExcessArguments(false);
  return program;
}

interface RawOptions {
  foreground: boolean;
  user: string;
  chroot: string;
  syslogSocket: string;
  pidfile?: string;
  stderr: boolean;
  json?: string;
  jsonSyslog: boolean;
  statsInterval?: number;
  interface?: string;
  promisc: boolean;
  ipv6: boolean;
  udp: boolean;
  ephemeralPorts?: PortRange;
  portWeightPriv: number;
  portWeightHigh: number;
  scanMinCount: number;
  scanWeightThreshold?: number;
  maxPorts?: number;
  scanDelay: number;
  logCount: number;
  logDelay: number;
  logMaxLength: number;
  sources: number;
  hashSize: number;
  hashMax: number;
  hash: HashKind;
  role: Role;
  statusFd?: number;
  config?: string;
  preset: PresetName;
  ignoreSource?: SourceNetwork[];
  ignorePort?: PortRange[];
}

/**
 * Sets each option the file names, unless the command line gave it. A list given on
 * the command line replaces the file's list rather than extending it.
 */
function applyConfig(program: Command, file: string, required: boolean): Map<string, number> {
  const lines = new Map<string, number>();
  const text = readConfigFile(file, required);
  if (text === null) return lines;
  for (const v of parseConfig(text, file, program).values()) {
    if (program.getOptionValueSource(v.attribute) === 'cli') continue;
    program.setOptionValueWithSource(v.attribute, v.value, 'config');
    lines.set(v.attribute, v.line);
  }
  return lines;
}

/** Fills in what the chosen preset sets and neither the command line nor the file did. */
function applyPreset(program: Command, name: PresetName): void {
  for (const [key, text] of Object.entries(presetValues(name))) {
    const option = program.options.find((o) => o.long === `--${key}`);
    if (option?.parseArg === undefined) throw new Error(`preset ${name} names ${key}, which is not an option with a value`);
    const attribute = option.attributeName();
    const source = program.getOptionValueSource(attribute);
    if (source === 'cli' || source === 'config') continue;
    program.setOptionValueWithSource(attribute, option.parseArg(text, undefined), `preset ${name}`);
  }
}

/** commander's attribute name for "--scan-delay" and the like. */
function attributeOf(long: string): string {
  return long.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Parses argv (without node and script); commander prints command-line errors and
 * exits 1. The capture process then reads the configuration file (`configPath` unless
 * --config names another) and applies the preset; a problem with the file is thrown
 * as a ConfigError naming the file and line. The monitor reads no file: it gets every
 * value on its command line.
 */
export function parseSettings(argv: readonly string[], program: Command = buildProgram(), configPath = DEFAULT_CONFIG_PATH): Settings {
  program.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 1);
  });
  program.parse(argv, { from: 'user' });
  let configLines = new Map<string, number>();
  const file = program.opts<RawOptions>().config;
  if (program.opts<RawOptions>().role === 'capture') {
    configLines = applyConfig(program, file ?? configPath, file !== undefined);
    applyPreset(program, program.opts<RawOptions>().preset);
  }
  const o = program.opts<RawOptions>();
  const threshold = o.scanWeightThreshold ?? o.scanMinCount * o.portWeightPriv;
  const params: DetectorParams = {
    portWeightPriv: o.portWeightPriv,
    portWeightHigh: o.portWeightHigh,
    scanWeightThreshold: threshold,
    maxPorts:
      o.maxPorts ??
      portsBelowThreshold({ portWeightPriv: o.portWeightPriv, portWeightHigh: o.portWeightHigh, scanWeightThreshold: threshold }),
    scanDelayMs: o.scanDelay,
    logCount: o.logCount,
    logDelayMs: o.logDelay,
    logMaxLength: o.logMaxLength,
    listSize: o.sources,
    hashSize: o.hashSize,
    hashMax: o.hashMax,
    hash: o.hash,
  };
  if (o.promisc && o.interface === undefined) program.error('error: --promisc needs --interface', { exitCode: 1 });
  if (o.ephemeralPorts !== undefined && !o.udp) program.error('error: --ephemeral-ports needs --udp', { exitCode: 1 });
  const ipv6Source = o.ignoreSource?.find(isCidr6);
  if (ipv6Source !== undefined && !o.ipv6) {
    program.error(`error: --ignore-source ${formatCidr(ipv6Source)} is an IPv6 network; IPv6 is watched only with --ipv6`, { exitCode: 1 });
  }
  const problems = checkParams(params);
  for (const problem of problems) {
    // A problem is the file's when the option it names first came from the file.
    const line = configLines.get(attributeOf(/^--([a-z-]+)/.exec(problem)?.[1] ?? ''));
    if (line !== undefined) throw new ConfigError(`${file ?? configPath}:${line}: ${problem}`);
  }
  if (problems.length > 0) program.error(`error: ${problems.join('; ')}`, { exitCode: 1 });
  if (o.json === '-' && !o.foreground) {
    program.error('error: --json - writes to standard output, which the daemon gives up when it detaches; add --foreground', {
      exitCode: 1,
    });
  }
  return {
    role: o.role,
    foreground: o.foreground,
    user: o.user,
    chroot: o.chroot,
    syslogSocket: o.syslogSocket,
    pidfile: o.pidfile ?? null,
    stderr: o.stderr,
    captureInterface: o.interface ?? null,
    promiscuous: o.promisc,
    statusFd: o.statusFd ?? null,
    json: o.json ?? null,
    jsonSyslog: o.jsonSyslog,
    statsIntervalMs: o.statsInterval === undefined ? null : o.statsInterval * 1000,
    params,
    ipv6: o.ipv6,
    udp: o.udp,
    ephemeralPorts: o.ephemeralPorts ?? null,
    ignoreSources: o.ignoreSource ?? [],
    ignorePorts: o.ignorePort ?? [],
  };
}

/** The arguments that give the monitor the same settings. */
export function monitorArguments(s: Settings, statusFd: number | null): string[] {
  const p = s.params;
  const args = [
    '--role',
    'monitor',
    '--foreground',
    '--user',
    s.user,
    '--syslog-socket',
    s.syslogSocket,
    '--port-weight-priv',
    String(p.portWeightPriv),
    '--port-weight-high',
    String(p.portWeightHigh),
    '--scan-weight-threshold',
    String(p.scanWeightThreshold),
    '--max-ports',
    String(p.maxPorts),
    '--scan-delay',
    (p.scanDelayMs / 1000).toFixed(3),
    '--log-count',
    String(p.logCount),
    '--log-delay',
    (p.logDelayMs / 1000).toFixed(3),
    '--log-max-length',
    String(p.logMaxLength),
    '--sources',
    String(p.listSize),
    '--hash-size',
    String(p.hashSize),
    '--hash-max',
    String(p.hashMax),
    '--hash',
    p.hash,
  ];
  if (s.stderr) args.push('--stderr');
  if (s.ipv6) args.push('--ipv6');
  if (s.udp) args.push('--udp');
  if (s.ephemeralPorts !== null) args.push('--ephemeral-ports', formatPortRange(s.ephemeralPorts));
  if (s.pidfile !== null) args.push('--pidfile', s.pidfile);
  // The monitor writes to the descriptor it is given; the name is for its messages.
  if (s.json !== null) args.push('--json', s.json);
  if (s.jsonSyslog) args.push('--json-syslog');
  if (s.statsIntervalMs !== null) args.push('--stats-interval', String(s.statsIntervalMs / 1000));
  if (statusFd !== null) args.push('--status-fd', String(statusFd));
  return args;
}
