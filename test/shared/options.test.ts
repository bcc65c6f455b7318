// The option table: the settings the monitor is given (its own options only, read
// back with the same parsers), and scanlogd(8)'s option list against the table.

import test from 'ava';
import fs = require('node:fs');
import path = require('node:path');
import { MONITOR_OPTION_NAMES, OPTION_NAMES, longName, monitorArgument, parseMonitorArgument, specOf } from '../../src/shared/options.js';
import { buildProgram, parseSettings as parseWithFile, type Settings } from '../../src/capture/settings.js';
import { StartupError } from '../../src/shared/errors.js';
import { REPO } from '../../harness/daemon.js';

/** The command line alone: no configuration file (config.test.ts covers files). */
const parseSettings = (argv: readonly string[]): Settings => parseWithFile(argv, buildProgram(), '/nonexistent/scanlogd.conf');

const defaults = parseSettings([]);

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
  [
    "a libpcap interface (the monitor reads only whether there is one: a device shows other hosts' traffic)",
    ['--interface', 'eth0', '--promisc'],
    null,
  ],
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
    // Nothing the capture process alone reads: no user, chroot, promiscuous mode, ignore lists, preset or interval.
    t.deepEqual(Object.keys(JSON.parse(argument) as object), [...MONITOR_OPTION_NAMES]);
    for (const captureOnly of ['user', 'chroot', 'promisc', 'ignoreSource', 'ignorePort', 'statsInterval', 'preset', 'config'])
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
      'interface',
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
      'slowScans',
      'slowThreshold',
      'sweepThreshold',
      'slowExpiry',
      'slowSources',
      'statusFd',
      'socketTables',
      'broadcasts',
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
  t.is(refusal({ broadcasts: '198.18.255.255,198.19.5.0255' }), 'monitor settings: broadcasts: not an IPv4 address: 198.19.5.0255.');
  t.is(refusal({ broadcasts: [] }), 'monitor settings: broadcasts is missing or of the wrong kind');
});

test("this host's broadcast addresses reach the monitor as the capture process read them", (t) => {
  const read = (broadcasts: number[] | null): number[] | null =>
    parseMonitorArgument(monitorArgument({ ...defaults, broadcasts })).broadcasts;
  t.deepEqual(read([0xc612ffff, 0xc61305ff]), [0xc612ffff, 0xc61305ff]);
  t.deepEqual(read([]), []);
  t.is(read(null), null);
});

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
  t.is(compared, 21);
});
