// The command line: scanlogd's defaults, every option, the settings the monitor is
// given, and what the real binary prints and returns for bad arguments, --help and
// --version.

import test from 'ava';
import fs = require('node:fs');
import path = require('node:path');
import { spawnSync } from 'node:child_process';
import { DEFAULT_PARAMS, type DetectorParams } from '../../src/shared/params.js';
import {
  MONITOR_OPTION_NAMES,
  OPTION_NAMES,
  detectorParams,
  longName,
  monitorArgument,
  parseMonitorArgument,
  specOf,
} from '../../src/shared/options.js';
import { buildProgram, parseSettings as parseWithFile, type Settings } from '../../src/capture/settings.js';
import { StartupError } from '../../src/shared/errors.js';
import { REPO, entryScript } from '../../harness/daemon.js';

/** The command line alone: no configuration file (config.test.ts covers files). */
const parseSettings = (argv: readonly string[]): Settings => parseWithFile(argv, buildProgram(), '/nonexistent/scanlogd.conf');

test("no arguments: scanlogd's user, chroot, syslog socket and thresholds", (t) => {
  t.deepEqual(parseSettings([]), {
    foreground: false,
    user: 'scanlogd',
    chroot: '/var/empty',
    syslogSocket: '/dev/log',
    pidfile: null,
    stderr: false,
    config: null,
    preset: 'classic',
    ignoreSource: [],
    ignorePort: [],
    json: null,
    jsonSyslog: false,
    statsInterval: null,
    // The raw socket, as scanlogd's Linux build.
    interface: null,
    promisc: false,
    // IPv4 TCP only, as scanlogd.
    ipv6: false,
    udp: false,
    ephemeralPorts: null,
    portWeightPriv: 3,
    portWeightHigh: 1,
    scanMinCount: 7,
    // Derived as scanlogd's params.h derives them.
    scanWeightThreshold: 21,
    maxPorts: 20,
    scanDelay: 3000,
    logCount: 5,
    logDelay: 20000,
    logMaxLength: 120,
    sources: 256,
    hashSize: 512,
    hashMax: 16,
    hash: 'classic',
    statusFd: null,
    // Pinned to scanlogd's literal values in params.test.ts.
    params: { ...DEFAULT_PARAMS },
  });
});

const defaults = parseSettings([]);

/** The options that set a detector parameter (or derive one), compared through `params` below. */
const THRESHOLDS = new Set<string>([
  ...OPTION_NAMES.filter((name) => (specOf(name) as { param?: string }).param !== undefined),
  'scanMinCount',
]);
const withoutThresholds = (s: Settings): Record<string, unknown> =>
  Object.fromEntries(Object.entries(s).filter(([name]) => name !== 'params' && !THRESHOLDS.has(name)));

// argv -> the settings that differ from the defaults.
const parsed: Array<[string[], Partial<Settings>, Partial<DetectorParams>]> = [
  [['-f'], { foreground: true }, {}],
  [['--foreground'], { foreground: true }, {}],
  [['--user', 'nobody'], { user: 'nobody' }, {}],
  [['--user=_scan.log-d$'], { user: '_scan.log-d$' }, {}],
  [['--chroot', '/run/scanlogd/empty'], { chroot: '/run/scanlogd/empty' }, {}],
  [['--syslog-socket', '/tmp/test-log.sock'], { syslogSocket: '/tmp/test-log.sock' }, {}],
  [['--pidfile', '/run/scanlogd.pid'], { pidfile: '/run/scanlogd.pid' }, {}],
  [['--stderr'], { stderr: true }, {}],
  [['--interface', 'eth0'], { interface: 'eth0' }, {}],
  [['--interface', 'any', '--promisc'], { interface: 'any', promisc: true }, {}],
  [['--interface=enp3s0.100'], { interface: 'enp3s0.100' }, {}],
  [['--status-fd', '5'], { statusFd: 5 }, {}],
  [['--json', '/var/log/scanlogd.json'], { json: '/var/log/scanlogd.json' }, {}],
  [['-f', '--json', '-'], { foreground: true, json: '-' }, {}],
  [['--json-syslog'], { jsonSyslog: true }, {}],
  [['--hash', 'keyed'], {}, { hash: 'keyed' }],
  [['--stats-interval', '300'], { statsInterval: 300 }, {}],
  // A heavier privileged port raises the derived threshold and the port list with it.
  [['--port-weight-priv', '5'], {}, { portWeightPriv: 5, scanWeightThreshold: 35, maxPorts: 34 }],
  [['--port-weight-high', '2'], {}, { portWeightHigh: 2, maxPorts: 10 }],
  [['--scan-min-count', '10'], {}, { scanWeightThreshold: 30, maxPorts: 29 }],
  [['--scan-min-count', '4', '--port-weight-priv', '2'], {}, { portWeightPriv: 2, scanWeightThreshold: 8, maxPorts: 7 }],
  [['--scan-weight-threshold', '12'], {}, { scanWeightThreshold: 12, maxPorts: 11 }],
  [['--scan-weight-threshold', '12', '--scan-min-count', '99'], {}, { scanWeightThreshold: 12, maxPorts: 11 }],
  [['--max-ports', '30'], {}, { maxPorts: 30 }],
  [['--scan-delay', '1.5'], {}, { scanDelayMs: 1500 }],
  [['--scan-delay', '0.001'], {}, { scanDelayMs: 1 }],
  [['--scan-delay', '2147483.647'], {}, { scanDelayMs: 0x7fffffff }],
  [['--log-count', '9'], {}, { logCount: 9 }],
  [['--log-delay', '60'], {}, { logDelayMs: 60000 }],
  [['--log-delay', '0.25'], {}, { logDelayMs: 250 }],
  [['--log-max-length', '0'], {}, { logMaxLength: 0 }],
  [['--log-max-length', '200'], {}, { logMaxLength: 200 }],
  [['--sources', '1024'], {}, { listSize: 1024 }],
  [['--hash-size', '1024'], {}, { hashSize: 1024 }],
  [['--hash-max', '4'], {}, { hashMax: 4 }],
  [['--preset', 'classic'], {}, {}],
  [
    ['--preset', 'sensitive'],
    { preset: 'sensitive' },
    { scanWeightThreshold: 12, maxPorts: 11, scanDelayMs: 20000, listSize: 1024, hashSize: 2048 },
  ],
  [['--preset', 'relaxed'], { preset: 'relaxed' }, { scanWeightThreshold: 36, maxPorts: 35, scanDelayMs: 2000 }],
  [['--ignore-source', '192.0.2.10'], { ignoreSource: [{ base: 0xc000020a, prefix: 32 }] }, {}],
  [
    ['--ignore-source', '192.0.2.0/24', '--ignore-source=10.0.0.0/8'],
    {
      ignoreSource: [
        { base: 0xc0000200, prefix: 24 },
        { base: 0x0a000000, prefix: 8 },
      ],
    },
    {},
  ],
  [
    ['--ignore-port', '21', '--ignore-port', '50000-51000'],
    {
      ignorePort: [
        { first: 21, last: 21 },
        { first: 50000, last: 51000 },
      ],
    },
    {},
  ],
  [['--ipv6'], { ipv6: true }, {}],
  [['--udp'], { udp: true }, {}],
  [['--udp', '--ephemeral-ports', '49152-65535'], { udp: true, ephemeralPorts: { first: 49152, last: 65535 } }, {}],
  [
    ['--ipv6', '--ignore-source', '2001:db8::/32', '--ignore-source', '192.0.2.10'],
    {
      ipv6: true,
      ignoreSource: [
        { base6: Uint32Array.from([0x20010db8, 0, 0, 0]), prefix: 32 },
        { base: 0xc000020a, prefix: 32 },
      ],
    },
    {},
  ],
];

for (const [argv, settings, params] of parsed) {
  test(`parses ${argv.join(' ')}`, (t) => {
    const s = parseSettings(argv);
    t.deepEqual(withoutThresholds(s), { ...withoutThresholds(defaults), ...settings });
    t.deepEqual(s.params, { ...DEFAULT_PARAMS, ...params });
    // Each threshold option holds the value its parameter was given (derived ones included).
    t.deepEqual(detectorParams(s), s.params);
  });
}

const monitorCases: Array<[string, string[], number | null]> = [
  ['defaults', [], null],
  ['defaults with a status fd', ['--pidfile', '/run/scanlogd.pid', '--stderr'], 4],
  [
    'every threshold changed',
    [
      '--user',
      'nobody',
      '--syslog-socket',
      '/tmp/s',
      '--port-weight-priv',
      '4',
      '--port-weight-high',
      '2',
      '--scan-weight-threshold',
      '30',
      '--max-ports',
      '40',
      '--scan-delay',
      '1.234',
      '--log-count',
      '2',
      '--log-delay',
      '0.001',
      '--log-max-length',
      '0',
      '--sources',
      '16',
      '--hash-size',
      '8',
      '--hash-max',
      '3',
    ],
    null,
  ],
  ['a libpcap interface (the monitor needs none of it)', ['--interface', 'eth0', '--promisc'], null],
  ['the longest delays', ['--scan-delay', '2147483.647', '--log-delay', '2147483.647'], 9],
  ['a preset and ignore lists', ['--preset', 'sensitive', '--ignore-source', '192.0.2.0/24', '--ignore-port', '443'], null],
  ['structured output and counters', ['--json', '/var/log/scanlogd.json', '--stats-interval', '60'], null],
  ['structured output on standard output', ['--foreground', '--json', '-'], null],
  ['structured events to syslog, and to a file', ['--json-syslog', '--json', '/var/log/scanlogd.json'], null],
  ['the keyed hash', ['--hash', 'keyed', '--hash-max', '256'], null],
  ['IPv6 and UDP with the client port range', ['--ipv6', '--udp', '--ephemeral-ports', '32768-60999'], null],
  ['UDP alone, one client port', ['--udp', '--ephemeral-ports', '40000'], null],
];

for (const [name, argv, statusFd] of monitorCases) {
  test(`the monitor's argument gives it its own settings, and only those: ${name}`, (t) => {
    const settings = { ...parseSettings(argv), statusFd };
    const argument = monitorArgument(settings);
    const monitor = parseMonitorArgument(argument);
    t.deepEqual(monitor, { ...Object.fromEntries(MONITOR_OPTION_NAMES.map((n) => [n, settings[n]])), params: settings.params });
    // Nothing the capture process alone reads: no user, chroot, interface, ignore lists, preset or interval.
    t.deepEqual(Object.keys(JSON.parse(argument) as object), [...MONITOR_OPTION_NAMES]);
    for (const captureOnly of ['user', 'chroot', 'interface', 'promisc', 'ignoreSource', 'ignorePort', 'statsInterval', 'preset', 'config'])
      t.false(argument.includes(`"${captureOnly}"`), captureOnly);
  });
}

test('the options each process reads, as the table says', (t) => {
  t.deepEqual(
    [...MONITOR_OPTION_NAMES],
    [
      'syslogSocket',
      'pidfile',
      'stderr',
      'json',
      'jsonSyslog',
      'ipv6',
      'udp',
      'ephemeralPorts',
      'portWeightPriv',
      'portWeightHigh',
      'scanWeightThreshold',
      'maxPorts',
      'scanDelay',
      'logCount',
      'logDelay',
      'logMaxLength',
      'sources',
      'hashSize',
      'hashMax',
      'hash',
      'statusFd',
    ],
  );
});

const badArguments: Array<[string, string, string]> = [
  ['not JSON', '{', 'monitor settings: not JSON'],
  ['not an object', '[]', 'monitor settings: not an object'],
  ['a capture setting', JSON.stringify({ user: 'root' }), 'monitor settings: user is not a setting of the monitor'],
  ['a setting missing', '{}', 'monitor settings: syslogSocket is missing or of the wrong kind'],
];

for (const [name, argument, message] of badArguments) {
  test(`the monitor refuses an argument that is ${name}`, (t) => {
    t.throws(() => parseMonitorArgument(argument), { instanceOf: StartupError, message });
  });
}

test("the monitor reads each value with its option's parser and checks them together", (t) => {
  const good = JSON.parse(monitorArgument(defaults)) as Record<string, unknown>;
  const refusal = (change: Record<string, unknown>): string | undefined =>
    t.throws(() => parseMonitorArgument(JSON.stringify({ ...good, ...change })))?.message;
  t.is(refusal({ hashMax: '257' }), 'monitor settings: hashMax: must be a whole number from 1 to 256.');
  t.is(refusal({ scanDelay: '0' }), 'monitor settings: scanDelay: must be more than 0 and at most 2147483.647 seconds.');
  t.is(refusal({ stderr: 'yes' }), 'monitor settings: stderr is missing or of the wrong kind');
  t.is(refusal({ maxPorts: null }), 'monitor settings: maxPorts is missing or of the wrong kind');
  t.is(refusal({ hashSize: '100' }), 'monitor settings: --hash-size must be a power of two, not 100');
});

/** Runs the real entry point; as root it runs as nobody (from the copy nobody can read), so nothing privileged can start. */
function runBin(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const asRoot = process.getuid?.() === 0;
  const r = spawnSync(process.execPath, [entryScript(), ...args], {
    encoding: 'utf8',
    timeout: 30000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const rejected: Array<[string[], string]> = [
  [
    ['--scan-delay', '0'],
    "error: option '--scan-delay <seconds>' argument '0' is invalid. must be more than 0 and at most 2147483.647 seconds.",
  ],
  [
    ['--scan-delay', '-1'],
    "error: option '--scan-delay <seconds>' argument '-1' is invalid. must be a positive number of seconds (up to 3 decimals).",
  ],
  [
    ['--scan-delay', '1.0001'],
    "error: option '--scan-delay <seconds>' argument '1.0001' is invalid. must be a positive number of seconds (up to 3 decimals).",
  ],
  [['--log-count', '-3'], "error: option '--log-count <n>' argument '-3' is invalid. must be a whole number from 1 to 1000000."],
  [['--hash', 'siphash'], "error: option '--hash <kind>' argument 'siphash' is invalid. Allowed choices are classic, keyed."],
  [['--hash-max', '257'], "error: option '--hash-max <n>' argument '257' is invalid. must be a whole number from 1 to 256."],
  [['--hash-size', '100'], 'error: --hash-size must be a power of two, not 100'],
  [['--port-weight-high', '0'], "error: option '--port-weight-high <n>' argument '0' is invalid. must be a whole number from 1 to 1000."],
  [
    ['--scan-weight-threshold', '50', '--max-ports', '10'],
    'error: --scan-weight-threshold 50 needs room for 49 ports, but --max-ports is 10',
  ],
  [['--user', 'bad name'], "error: option '--user <name>' argument 'bad name' is invalid. is not a valid user name."],
  [['--chroot', 'relative/dir'], "error: option '--chroot <dir>' argument 'relative/dir' is invalid. must be an absolute path."],
  [['--json', '-'], 'error: --json - writes to standard output, which the daemon gives up when it detaches; add --foreground'],
  [
    ['--json', 'events.json'],
    "error: option '--json <path>' argument 'events.json' is invalid. must be an absolute path or - (standard output).",
  ],
  [
    ['--stats-interval', '0'],
    "error: option '--stats-interval <seconds>' argument '0' is invalid. must be a whole number from 1 to 86400.",
  ],
  [['--promisc'], 'error: --promisc needs --interface'],
  [['--interface', 'a/b'], "error: option '--interface <name>' argument 'a/b' is invalid. is not a network interface name."],
  [
    ['--interface', 'sixteen-chars-xx'],
    "error: option '--interface <name>' argument 'sixteen-chars-xx' is invalid. is not a network interface name.",
  ],
  [['--bogus'], "error: unknown option '--bogus'"],
  [['--preset', 'loud'], "error: option '--preset <name>' argument 'loud' is invalid. Allowed choices are classic, sensitive, relaxed."],
  [
    ['--ignore-source', '10.0.0.1/8'],
    "error: option '--ignore-source <cidr>' argument '10.0.0.1/8' is invalid. has host bits set; the network is 10.0.0.0/8.",
  ],
  [
    ['--ignore-source', '10.0.0.0/0'],
    "error: option '--ignore-source <cidr>' argument '10.0.0.0/0' is invalid. the prefix length must be a whole number from 1 to 32 (/0 would ignore every source).",
  ],
  [
    ['--ignore-port', '0'],
    "error: option '--ignore-port <port[-port]>' argument '0' is invalid. must be a port from 1 to 65535 or a range such as 50000-51000.",
  ],
  [['--ignore-port', '9-1'], "error: option '--ignore-port <port[-port]>' argument '9-1' is invalid. is a reversed range; write 1-9."],
  [['--config', 'scanlogd.conf'], "error: option '--config <path>' argument 'scanlogd.conf' is invalid. must be an absolute path."],
  [['--config', '/nonexistent/scanlogd.conf'], 'scanlogd: /nonexistent/scanlogd.conf: No such file or directory'],
  [['extra'], 'error: too many arguments. Expected 0 arguments but got 1.'],
  [['--ignore-source', '2001:db8::/32'], 'error: --ignore-source 2001:db8::/32 is an IPv6 network; IPv6 is watched only with --ipv6'],
  [
    ['--ipv6', '--ignore-source', '2001:db8::1/32'],
    "error: option '--ignore-source <cidr>' argument '2001:db8::1/32' is invalid. has host bits set; the network is 2001:db8::/32.",
  ],
  [['--ephemeral-ports', '32768-60999'], 'error: --ephemeral-ports needs --udp'],
  [
    ['--udp', '--ephemeral-ports', '60999-32768'],
    "error: option '--ephemeral-ports <first-last>' argument '60999-32768' is invalid. is a reversed range; write 32768-60999.",
  ],
];

for (const [args, line] of rejected) {
  test(`scanlogd ${args.join(' ')}: exit 1 with one line on stderr`, (t) => {
    const r = runBin(args);
    t.is(r.status, 1);
    t.is(r.stdout, '');
    t.is(r.stderr, `${line}\n`);
  });
}

test('scanlogd --help: exit 0, usage with the threshold options, hidden role options left out', (t) => {
  const r = runBin(['--help']);
  t.is(r.status, 0);
  t.is(r.stderr, '');
  t.true(r.stdout.startsWith('Usage: scanlogd [options]\n'));
  t.regex(r.stdout, /--scan-delay <seconds> +longest gap between the packets of one scan/);
  for (const option of [
    '--foreground',
    '--user <name>',
    '--chroot <dir>',
    '--syslog-socket <path>',
    '--pidfile <path>',
    '--stderr',
    '--hash-size <n>',
    '--config <path>',
    '--preset <name>',
    '--ignore-source <cidr>',
    '--ignore-port <port[-port]>',
    '--json <path>',
    '--stats-interval <seconds>',
    '--interface <name>',
    '--promisc',
    '--ipv6',
    '--udp',
    '--ephemeral-ports <first-last>',
  ]) {
    t.true(r.stdout.includes(option), option);
  }
  // The firewall trade-off is stated where the choice is made.
  t.regex(r.stdout, /after the host firewall accepted/);
  t.false(r.stdout.includes('--role'));
  t.false(r.stdout.includes('--status-fd'));
});

for (const flag of ['--version', '-V']) {
  test(`scanlogd ${flag} prints 0.1.0 and exits 0`, (t) => {
    const r = runBin([flag]);
    t.is(r.status, 0);
    t.is(r.stdout, '0.1.0\n');
    t.is(r.stderr, '');
  });
}

// ---------------------------------------------------------------------------
// scanlogd(8) lists the options of the table.

/** The text a roff line shows: font macros' arguments joined as they print, escapes undone. */
function roffText(line: string): string {
  const m = /^\.(B|I|BR|BI|IR|RB|RI|IB)\s+(.*)$/.exec(line);
  let text = line;
  if (m !== null) {
    const args = [...(m[2] as string).matchAll(/"([^"]*)"|(\S+)/g)].map((a) => a[1] ?? a[2] ?? '');
    text = (m[1] as string).length === 1 ? args.join(' ') : args.join('');
  }
  return text
    .replace(/\\-/g, '-')
    .replace(/\\\(dq/g, '"')
    .replace(/\\f[BIRP]/g, '');
}

/** Each entry of the man page's OPTIONS section: its long option and its paragraph's text. */
function manOptions(): Array<{ long: string; text: string }> {
  const page = fs.readFileSync(path.join(REPO, 'packaging', 'scanlogd.8'), 'utf8');
  const section = /\n\.SH OPTIONS\n([\s\S]*?)\n\.SH /.exec(page)?.[1] ?? '';
  return section
    .split('\n.TP\n')
    .slice(1)
    .map((entry) => {
      const [head, ...body] = entry.split('\n');
      const long = /\\-\\-([a-z0-9\\-]+)/.exec(head ?? '')?.[1]?.replace(/\\-/g, '-') ?? '';
      return { long, text: body.map(roffText).join(' ').replace(/\s+/g, ' ') };
    });
}

test('scanlogd(8) lists every option of the table, in its order, then --version and --help', (t) => {
  const visible = OPTION_NAMES.filter((name) => specOf(name).hidden !== true).map(longName);
  t.deepEqual(
    manOptions().map((o) => o.long),
    [...visible, 'version', 'help'],
  );
});

test('scanlogd(8) gives each option the default of the table', (t) => {
  const man = new Map(manOptions().map((o) => [o.long, o.text]));
  let compared = 0;
  for (const name of OPTION_NAMES) {
    const spec = specOf(name);
    if (spec.kind !== 'value' || spec.hidden === true || (spec.default === null && spec.defaultText === undefined)) continue;
    const wanted = spec.defaultText ?? spec.type.format(spec.default);
    const text = man.get(longName(name)) ?? '';
    t.true(
      text.includes(`(default: ${wanted})`) || new RegExp(`\\(default: ${wanted.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}[;,]`).test(text),
      `--${longName(name)}: "${wanted}" not in: ${text}`,
    );
    compared++;
  }
  t.is(compared, 17);
});
