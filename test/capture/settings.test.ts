// The command line as the capture process reads it: scanlogd's defaults, every option,
// and what the real binary prints and returns for bad arguments, --help and --version.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { DEFAULT_PARAMS, type DetectorParams } from '../../src/shared/params.js';
import { OPTION_NAMES, detectorParams, specOf } from '../../src/shared/options.js';
import { buildProgram, parseSettings as parseWithFile, type Settings } from '../../src/capture/settings.js';
import { entryScript } from '../../harness/daemon.js';

/** The command line alone: no configuration file (config.test.ts covers files). */
const parseSettings = (argv: readonly string[]): Settings => parseWithFile(argv, buildProgram(), '/nonexistent/scanlogd.conf');

test("no arguments: scanlogd's user, chroot, syslog socket and thresholds", (t) => {
  t.deepEqual(parseSettings([]), {
    foreground: false,
    check: false,
    printConfig: false,
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
    // The second stage is off, as scanlogd has none.
    slowScans: false,
    slowThreshold: 6,
    sweepThreshold: 5,
    slowExpiry: 1800000,
    slowSources: 4096,
    statusFd: null,
    socketTables: null,
    broadcasts: null,
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
  [['--stats-interval', '300'], { statsInterval: 300_000 }, {}],
  [['--stats-interval', '1.5'], { statsInterval: 1500 }, {}],
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
    "scanlogd: option '--scan-delay <seconds>' argument '0' is invalid. must be more than 0 and at most 2147483.647 seconds.",
  ],
  [
    ['--scan-delay', '-1'],
    "scanlogd: option '--scan-delay <seconds>' argument '-1' is invalid. must be a positive number of seconds (up to 3 decimals).",
  ],
  [
    ['--scan-delay', '1.0001'],
    "scanlogd: option '--scan-delay <seconds>' argument '1.0001' is invalid. must be a positive number of seconds (up to 3 decimals).",
  ],
  [['--log-count', '-3'], "scanlogd: option '--log-count <n>' argument '-3' is invalid. must be a whole number from 1 to 1000000."],
  [['--hash', 'siphash'], "scanlogd: option '--hash <kind>' argument 'siphash' is invalid. Allowed choices are classic, keyed."],
  [['--hash-max', '257'], "scanlogd: option '--hash-max <n>' argument '257' is invalid. must be a whole number from 1 to 256."],
  [['--hash-size', '100'], 'scanlogd: --hash-size must be a power of two, not 100'],
  [
    ['--port-weight-high', '0'],
    "scanlogd: option '--port-weight-high <n>' argument '0' is invalid. must be a whole number from 1 to 1000.",
  ],
  [
    ['--scan-weight-threshold', '50', '--max-ports', '10'],
    'scanlogd: --scan-weight-threshold 50 needs room for 49 ports, but --max-ports is 10',
  ],
  [['--user', 'bad name'], "scanlogd: option '--user <name>' argument 'bad name' is invalid. is not a valid user name."],
  [['--chroot', 'relative/dir'], "scanlogd: option '--chroot <dir>' argument 'relative/dir' is invalid. must be an absolute path."],
  [['--json', '-'], 'scanlogd: --json - writes to standard output, which the daemon gives up when it detaches; add --foreground'],
  [
    ['--json', 'events.json'],
    "scanlogd: option '--json <path>' argument 'events.json' is invalid. must be an absolute path or - (standard output).",
  ],
  [
    ['--stats-interval', '0'],
    "scanlogd: option '--stats-interval <seconds>' argument '0' is invalid. must be at least 1 and at most 86400 seconds.",
  ],
  [['--promisc'], 'scanlogd: --promisc needs --interface'],
  [['--interface', 'a/b'], "scanlogd: option '--interface <name>' argument 'a/b' is invalid. is not a network interface name."],
  [
    ['--interface', 'sixteen-chars-xx'],
    "scanlogd: option '--interface <name>' argument 'sixteen-chars-xx' is invalid. is not a network interface name.",
  ],
  [['--bogus'], "scanlogd: unknown option '--bogus'"],
  [['--preset', 'loud'], "scanlogd: option '--preset <name>' argument 'loud' is invalid. Allowed choices are classic, sensitive, relaxed."],
  [
    ['--ignore-source', '10.0.0.1/8'],
    "scanlogd: option '--ignore-source <cidr>' argument '10.0.0.1/8' is invalid. has host bits set; the network is 10.0.0.0/8.",
  ],
  [
    ['--ignore-source', '10.0.0.0/0'],
    "scanlogd: option '--ignore-source <cidr>' argument '10.0.0.0/0' is invalid. the prefix length must be a whole number from 1 to 32 (/0 would ignore every source).",
  ],
  [
    ['--ignore-port', '0'],
    "scanlogd: option '--ignore-port <port[-port]>' argument '0' is invalid. must be a port from 1 to 65535 or a range such as 50000-51000.",
  ],
  [['--ignore-port', '9-1'], "scanlogd: option '--ignore-port <port[-port]>' argument '9-1' is invalid. is a reversed range; write 1-9."],
  [['--config', 'scanlogd.conf'], "scanlogd: option '--config <path>' argument 'scanlogd.conf' is invalid. must be an absolute path."],
  [['--config', '/nonexistent/scanlogd.conf'], 'scanlogd: /nonexistent/scanlogd.conf: No such file or directory'],
  [['extra'], 'scanlogd: too many arguments. Expected 0 arguments but got 1.'],
  [['--ignore-source', '2001:db8::/32'], 'scanlogd: --ignore-source 2001:db8::/32 is an IPv6 network; IPv6 is watched only with --ipv6'],
  [
    ['--ipv6', '--ignore-source', '2001:db8::1/32'],
    "scanlogd: option '--ignore-source <cidr>' argument '2001:db8::1/32' is invalid. has host bits set; the network is 2001:db8::/32.",
  ],
  [['--ephemeral-ports', '32768-60999'], 'scanlogd: --ephemeral-ports needs --udp'],
  [
    ['--udp', '--ephemeral-ports', '60999-32768'],
    "scanlogd: option '--ephemeral-ports <first-last>' argument '60999-32768' is invalid. is a reversed range; write 32768-60999.",
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
  test(`scanlogd ${flag} names the package, its version and the Node.js it runs on, and exits 0`, (t) => {
    const r = runBin([flag]);
    t.is(r.status, 0);
    t.is(r.stdout, `scanlogd-ts 0.2.0 (Node.js ${process.version})\n`);
    t.is(r.stderr, '');
  });
}
