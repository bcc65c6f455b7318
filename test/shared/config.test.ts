// The configuration file: its keys (derived from the options), every line it accepts
// or refuses and the exact words of each refusal, the ownership checks on the file and
// its directories, and how it combines with the command line and the presets.

import test from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { InvalidArgumentError, Option } from 'commander';
import { ConfigError, MAX_CONFIG_BYTES, configKeys, markRepeatable, parseConfig, readConfigFile } from '../../src/shared/config.js';
import { buildProgram, parseSettings, resolveSettings, type Settings } from '../../src/capture/settings.js';
import {
  MONITOR_OPTION_NAMES,
  OPTION_NAMES,
  defaultValues,
  longName,
  monitorArgument,
  parseMonitorArgument,
  specOf,
  type OptionName,
} from '../../src/shared/options.js';
import { DEFAULT_PARAMS, type DetectorParams } from '../../src/shared/params.js';
import { PRESET_NAMES } from '../../src/shared/presets.js';
import { parseCidr, parsePortRange } from '../../src/shared/networks.js';
import { isRoot } from '../../harness/netns.js';
import { REPO } from '../../harness/daemon.js';
import { Xorshift32 } from './xorshift.js';
import { rootOwnedDir } from '../helpers/dirs.js';

const FILE = '/etc/scanlogd.conf';
/** A default path that does not exist, so that no test depends on this machine's /etc. */
const NO_FILE = '/nonexistent/scanlogd.conf';

const parse = (text: string): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const v of parseConfig(text, FILE, buildProgram()).values()) out[v.key] = v.value;
  return out;
};

// ---------------------------------------------------------------------------
// Keys.

test('the keys are exactly the long options --help shows, less those of how a start is made (--config, --foreground, --check, --print-config) and --help and --version', (t) => {
  const help = buildProgram().helpInformation();
  const shown = new Set([...help.matchAll(/--([a-z][a-z0-9-]+)/g)].map((m) => m[1] as string));
  for (const notKey of ['config', 'foreground', 'check', 'print-config', 'help', 'version']) t.true(shown.delete(notKey), notKey);
  t.deepEqual([...configKeys(buildProgram()).keys()].sort(), [...shown].sort());
  t.false(configKeys(buildProgram()).has('role'));
  t.false(configKeys(buildProgram()).has('status-fd'));
});

test('an option added later is a key at once: its parser, its repeatability, a hidden one is not', (t) => {
  const program = buildProgram()
    .option('--audit-log <path>', 'audit here', (text: string) => `parsed:${text}`)
    .option('--verbose', 'more')
    .addOption(markRepeatable(new Option('--tag <t>').argParser((text: string, prev: string[] | undefined) => [...(prev ?? []), text])))
    .addOption(new Option('--secret <s>').hideHelp());
  const values = parseConfig('audit-log = /var/log/x\nverbose = yes\ntag = a\ntag = b\n', FILE, program);
  t.deepEqual(
    [...values.values()].map((v) => [v.key, v.attribute, v.value, v.line]),
    [
      ['audit-log', 'auditLog', 'parsed:/var/log/x', 1],
      ['verbose', 'verbose', true, 2],
      ['tag', 'tag', ['a', 'b'], 4],
    ],
  );
  const err = t.throws(() => parseConfig('secret = x\n', FILE, program));
  t.is(err?.message, '/etc/scanlogd.conf:1: unknown key "secret"');
});

// ---------------------------------------------------------------------------
// Lines accepted.

const accepted: Array<[string, string, Record<string, unknown>]> = [
  ['empty file', '', {}],
  ['comments and blank lines only', '# a comment\n\n   # indented comment\n\t\n', {}],
  ['spaces around =, or none', 'scan-delay=5\nlog-delay   =   7.5\n', { 'scan-delay': 5000, 'log-delay': 7500 }],
  ['leading blanks and CRLF line ends', '  sources = 1024\r\n\thash-max = 4\r\n', { sources: 1024, 'hash-max': 4 }],
  ['booleans: yes and true', 'stderr = yes\nudp = true\n', { stderr: true, udp: true }],
  ['booleans: no and false', 'stderr = no\nudp = false\n', { stderr: false, udp: false }],
  ['a string option', 'user = nobody\nchroot = /run/scanlogd/empty\n', { user: 'nobody', chroot: '/run/scanlogd/empty' }],
  ['a value with = in it', 'pidfile = /run/a=b/scanlogd.pid\n', { pidfile: '/run/a=b/scanlogd.pid' }],
  ['a value with # in it, not after a blank', 'pidfile = /run/a#b/scanlogd.pid\n', { pidfile: '/run/a#b/scanlogd.pid' }],
  ['a preset', 'preset = sensitive\n', { preset: 'sensitive' }],
  [
    'repeated list keys add up, in order',
    'ignore-source = 192.0.2.10\nignore-port = 21\nignore-source = 198.51.100.0/24\nignore-port = 50000-51000\n',
    {
      'ignore-source': [parseCidr('192.0.2.10'), parseCidr('198.51.100.0/24')],
      'ignore-port': [parsePortRange('21'), parsePortRange('50000-51000')],
    },
  ],
  ['no newline at the end', 'log-count = 9', { 'log-count': 9 }],
];

for (const [name, text, values] of accepted) {
  test(`accepted: ${name}`, (t) => {
    t.deepEqual(parse(text), values);
  });
}

test('the line of a value is its own, counting comments and blank lines; for a list, the last', (t) => {
  const values = parseConfig('# x\n\nscan-delay = 5\nignore-port = 1\n#\nignore-port = 2\n', FILE, buildProgram());
  t.is(values.get('scanDelay')?.line, 3);
  t.is(values.get('ignorePort')?.line, 6);
});

// ---------------------------------------------------------------------------
// Lines refused: every error path, with its exact words.

const refused: Array<[string, string, string]> = [
  ['unknown key', 'foo = 1', '/etc/scanlogd.conf:1: unknown key "foo"'],
  ['unknown key after comments', '# scanlogd\n\nscan-dealy = 5', '/etc/scanlogd.conf:3: unknown key "scan-dealy"'],
  ['key written as an option', '--scan-delay = 5', '/etc/scanlogd.conf:1: unknown key "--scan-delay"'],
  ['keys are lower case', 'Scan-Delay = 5', '/etc/scanlogd.conf:1: unknown key "Scan-Delay"'],
  ['a hidden option', 'role = monitor', '/etc/scanlogd.conf:1: unknown key "role"'],
  ['another hidden option', 'status-fd = 5', '/etc/scanlogd.conf:1: unknown key "status-fd"'],
  ['help', 'help = yes', '/etc/scanlogd.conf:1: unknown key "help"'],
  ['version', 'version = yes', '/etc/scanlogd.conf:1: unknown key "version"'],
  ['config', 'config = /etc/other.conf', '/etc/scanlogd.conf:1: "config" can only be given on the command line'],
  ['no =', 'scan-delay 5', '/etc/scanlogd.conf:1: expected "key = value"'],
  ['a bare word', 'stderr', '/etc/scanlogd.conf:1: expected "key = value"'],
  ['no key', '= 5', '/etc/scanlogd.conf:1: expected "key = value"'],
  ['no value', 'scan-delay =', '/etc/scanlogd.conf:1: no value for "scan-delay"'],
  ['no value, blanks after', 'user =   ', '/etc/scanlogd.conf:1: no value for "user"'],
  ['a key twice', 'scan-delay = 1\n\nscan-delay = 2', '/etc/scanlogd.conf:3: "scan-delay" is already set on line 1'],
  ['a boolean twice', 'stderr = yes\nstderr = no', '/etc/scanlogd.conf:2: "stderr" is already set on line 1'],
  ['a boolean value', 'stderr = 1', '/etc/scanlogd.conf:1: bad value "1" for "stderr": must be yes, no, true or false.'],
  ['a boolean in capitals', 'stderr = Yes', '/etc/scanlogd.conf:1: bad value "Yes" for "stderr": must be yes, no, true or false.'],
  // The init script waits for the daemon to detach; the file is read by every start.
  ['foreground', 'foreground = yes', '/etc/scanlogd.conf:1: "foreground" can only be given on the command line'],
  ['check', '# a check\ncheck = yes', '/etc/scanlogd.conf:2: "check" can only be given on the command line'],
  ['print-config', 'print-config = no', '/etc/scanlogd.conf:1: "print-config" can only be given on the command line'],
  [
    'zero seconds',
    'scan-delay = 0',
    '/etc/scanlogd.conf:1: bad value "0" for "scan-delay": must be more than 0 and at most 2147483.647 seconds.',
  ],
  [
    'a comment after a value',
    'scan-delay = 5 # slow scans',
    '/etc/scanlogd.conf:1: a comment after the value of "scan-delay"; comments are lines of their own',
  ],
  [
    'a comment after a value any text would take',
    'json = /var/log/scanlogd/events.json # for the notifier',
    '/etc/scanlogd.conf:1: a comment after the value of "json"; comments are lines of their own',
  ],
  [
    'a count out of range',
    'log-count = 0',
    '/etc/scanlogd.conf:1: bad value "0" for "log-count": must be a whole number from 1 to 1000000.',
  ],
  [
    'a negative weight',
    'port-weight-priv = -3',
    '/etc/scanlogd.conf:1: bad value "-3" for "port-weight-priv": must be a whole number from 1 to 1000.',
  ],
  ['a user name', 'user = bad name', '/etc/scanlogd.conf:1: bad value "bad name" for "user": is not a valid user name.'],
  ['a relative path', 'chroot = var/empty', '/etc/scanlogd.conf:1: bad value "var/empty" for "chroot": must be an absolute path.'],
  [
    'an unknown preset',
    'preset = loud',
    '/etc/scanlogd.conf:1: bad value "loud" for "preset": Allowed choices are classic, sensitive, relaxed.',
  ],
  [
    'a source with host bits',
    'ignore-source = 10.0.0.1/8',
    '/etc/scanlogd.conf:1: bad value "10.0.0.1/8" for "ignore-source": has host bits set; the network is 10.0.0.0/8.',
  ],
  [
    'an IPv6 source with host bits',
    'ignore-source = 2001:db8::1/32',
    '/etc/scanlogd.conf:1: bad value "2001:db8::1/32" for "ignore-source": has host bits set; the network is 2001:db8::/32.',
  ],
  [
    'port 0',
    'ignore-port = 0',
    '/etc/scanlogd.conf:1: bad value "0" for "ignore-port": must be a port from 1 to 65535 or a range such as 50000-51000.',
  ],
  [
    'a port above 65535',
    'ignore-port = 65536',
    '/etc/scanlogd.conf:1: bad value "65536" for "ignore-port": must be a port from 1 to 65535 or a range such as 50000-51000.',
  ],
  [
    'a reversed range',
    'ignore-port = 51000-50000',
    '/etc/scanlogd.conf:1: bad value "51000-50000" for "ignore-port": is a reversed range; write 50000-51000.',
  ],
  [
    'one source too many',
    Array.from({ length: 1025 }, (_, i) => `ignore-source = 10.${i >> 8}.${i & 255}.0/24`).join('\n'),
    '/etc/scanlogd.conf:1025: bad value "10.4.0.0/24" for "ignore-source": is one source too many: at most 1024 are allowed.',
  ],
  [
    'one port entry too many',
    Array.from({ length: 1025 }, (_, i) => `ignore-port = ${i + 1}`).join('\n'),
    '/etc/scanlogd.conf:1025: bad value "1025" for "ignore-port": is one port entry too many: at most 1024 are allowed.',
  ],
];

for (const [name, text, message] of refused) {
  test(`refused: ${name}`, (t) => {
    const err = t.throws(() => parseConfig(text, FILE, buildProgram()));
    t.true(err instanceof ConfigError);
    t.is(err?.message, message);
  });
}

test("a secret key's refused value is not repeated in the error", (t) => {
  const program = buildProgram().option('--token <t>', 'a token', (text: string) => {
    if (text.length !== 30) throw new InvalidArgumentError('must be 30 characters.');
    return text;
  });
  const err = t.throws(() => parseConfig('token = "s3cretButQuoted"\n', FILE, program, ['token']));
  t.is(err?.message, '/etc/scanlogd.conf:1: bad value for "token": must be 30 characters.');
  const shown = t.throws(() => parseConfig('token = short\n', FILE, program));
  t.is(shown?.message, '/etc/scanlogd.conf:1: bad value "short" for "token": must be 30 characters.');
});

test('random files: either parsed or refused with a ConfigError naming the file and a line, never anything else', (t) => {
  const rng = new Xorshift32(20251202);
  const keys = [...configKeys(buildProgram()).keys(), 'foo', 'config', 'role', ''];
  const values = [
    '',
    '0',
    '1',
    '3',
    '1.5',
    'yes',
    'no',
    '/a',
    'a b',
    '10.0.0.0/8',
    '10.0.0.1/8',
    '1-65535',
    '70000',
    'sensitive',
    '-1',
    '#',
    '=',
    '\u0000',
    '\u00e9',
  ];
  const pick = <T>(list: readonly T[]): T => list[rng.next() % list.length] as T;
  let parsed = 0;
  for (let i = 0; i < 20000; i++) {
    const lines = Array.from({ length: 1 + (rng.next() % 6) }, () => {
      switch (rng.next() % 5) {
        case 0:
          return `# ${pick(values)}`;
        case 1:
          return '';
        case 2:
          return `${pick(keys)}${pick(['=', ' = ', ' ', '  =\t'])}${pick(values)}`;
        case 3:
          return Array.from({ length: rng.next() % 12 }, () => String.fromCharCode(rng.next() % 128)).join('');
        default:
          return `${pick(keys)} = ${pick(values)}${pick(['', ' ', '\r'])}`;
      }
    });
    try {
      parseConfig(lines.join(pick(['\n', '\r\n'])), FILE, buildProgram());
      parsed++;
    } catch (err) {
      if (!(err instanceof ConfigError) || !/^\/etc\/scanlogd\.conf:\d+: \S/.test(err.message)) {
        t.fail(`${JSON.stringify(lines)}: ${String(err)}`);
        return;
      }
    }
  }
  t.log(`${parsed} of 20000 random files parsed`);
  t.true(parsed > 0);
});

// ---------------------------------------------------------------------------
// Files on disk: ownership checks, and the file combined with the command line.

const rootTest = isRoot ? test : test.skip;
if (!isRoot) console.log('configuration file tests on disk skipped: they need root to create root-owned files');

const secureDir = rootOwnedDir;

function writeConf(dir: string, text: string, name = 'scanlogd.conf', mode = 0o644): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  fs.chmodSync(file, mode);
  return file;
}

rootTest('a missing default file is no file; a missing --config file is an error', (t) => {
  const dir = secureDir(t);
  t.is(readConfigFile(path.join(dir, 'absent.conf'), false), null);
  t.deepEqual(parseSettings([], buildProgram(), path.join(dir, 'absent.conf')).params, DEFAULT_PARAMS);
  const err = t.throws(() => parseSettings(['--config', `${dir}/absent.conf`], buildProgram(), NO_FILE));
  t.is(err?.message, `${dir}/absent.conf: No such file or directory`);
  const below = writeConf(dir, '');
  t.is(t.throws(() => readConfigFile(`${below}/x.conf`, true))?.message, `${below}/x.conf: Not a directory`);
});

interface FileCase {
  name: string;
  make: (dir: string) => string;
  message: (dir: string, file: string) => string;
}

const unsafe: FileCase[] = [
  { name: 'group-writable file', make: (d) => writeConf(d, '', 'a.conf', 0o664), message: (_d, f) => `${f}: writable by group (mode 664)` },
  {
    name: 'world-writable file',
    make: (d) => writeConf(d, '', 'a.conf', 0o646),
    message: (_d, f) => `${f}: writable by others (mode 646)`,
  },
  {
    name: 'file owned by another user',
    make: (d) => {
      const f = writeConf(d, '', 'a.conf', 0o644);
      fs.chownSync(f, 65534, 65534);
      return f;
    },
    message: (_d, f) => `${f}: owned by uid 65534, not root`,
  },
  {
    name: 'directory owned by another user',
    make: (d) => {
      fs.mkdirSync(`${d}/etc`, { mode: 0o755 });
      fs.chownSync(`${d}/etc`, 65534, 65534);
      return writeConf(`${d}/etc`, '');
    },
    message: (d, f) => `${f}: directory ${d}/etc is owned by uid 65534, not root`,
  },
  {
    name: 'group-writable directory',
    make: (d) => {
      fs.mkdirSync(`${d}/etc`);
      fs.chmodSync(`${d}/etc`, 0o775);
      return writeConf(`${d}/etc`, '');
    },
    message: (d, f) => `${f}: directory ${d}/etc is writable by group (mode 775)`,
  },
  {
    name: 'sticky world-writable directory, like /tmp',
    make: (d) => {
      fs.mkdirSync(`${d}/tmp`);
      fs.chmodSync(`${d}/tmp`, 0o1777);
      return writeConf(`${d}/tmp`, '');
    },
    message: (d, f) => `${f}: directory ${d}/tmp is writable by others (mode 1777)`,
  },
  {
    name: 'a link to a file in an unsafe directory (the real place is checked)',
    make: (d) => {
      fs.mkdirSync(`${d}/open`);
      fs.chmodSync(`${d}/open`, 0o777);
      writeConf(`${d}/open`, '');
      fs.symlinkSync(`${d}/open/scanlogd.conf`, `${d}/link.conf`);
      return `${d}/link.conf`;
    },
    message: (d, f) => `${f}: directory ${d}/open is writable by others (mode 777)`,
  },
  {
    name: 'a directory',
    make: (d) => {
      fs.mkdirSync(`${d}/conf.d`, { mode: 0o755 });
      return `${d}/conf.d`;
    },
    message: (_d, f) => `${f}: not a regular file`,
  },
  {
    name: 'a FIFO (refused, not waited on)',
    make: (d) => {
      const f = `${d}/fifo.conf`;
      childProcess.execFileSync('mkfifo', ['-m', '0644', f]);
      return f;
    },
    message: (_d, f) => `${f}: not a regular file`,
  },
  {
    name: 'a file too large',
    make: (d) => writeConf(d, `${'#'.repeat(MAX_CONFIG_BYTES)}\n`),
    message: (_d, f) => `${f}: larger than ${MAX_CONFIG_BYTES} bytes`,
  },
];

for (const c of unsafe) {
  rootTest(`refused as unsafe: ${c.name}`, (t) => {
    const dir = secureDir(t);
    const file = c.make(dir);
    const err = t.throws(() => readConfigFile(file, true));
    t.true(err instanceof ConfigError);
    t.is(err?.message, c.message(dir, file));
    // The same for the default file: present but unsafe is never skipped.
    t.is(t.throws(() => parseSettings([], buildProgram(), file))?.message, c.message(dir, file));
  });
}

rootTest('a safe file read through a link, mode 0600 or 0644', (t) => {
  const dir = secureDir(t);
  const file = writeConf(dir, 'log-count = 9\n', 'real.conf', 0o600);
  fs.symlinkSync(file, `${dir}/link.conf`);
  t.is(readConfigFile(`${dir}/link.conf`, true), 'log-count = 9\n');
  t.is(parseSettings(['--config', `${dir}/link.conf`], buildProgram(), NO_FILE).params.logCount, 9);
});

/** Settings from a file with `text` plus the command line `argv`. */
function withFile(t: { teardown(fn: () => void): void }, text: string, argv: string[] = []): Settings {
  const file = writeConf(secureDir(t), text);
  return parseSettings(argv, buildProgram(), file);
}

rootTest('ipv6, udp, ephemeral-ports and IPv6 ignore-source entries from the file', (t) => {
  const s = withFile(
    t,
    'ipv6 = yes\nudp = true\nephemeral-ports = 49152-65535\nignore-source = 2001:db8::/32\nignore-source = 192.0.2.10\n',
  );
  t.true(s.ipv6);
  t.true(s.udp);
  t.deepEqual(s.ephemeralPorts, { first: 49152, last: 65535 });
  t.deepEqual(s.ignoreSource, [
    { base6: Uint32Array.from([0x20010db8, 0, 0, 0]), prefix: 32 },
    { base: 0xc000020a, prefix: 32 },
  ]);
  // Without ipv6, an IPv6 entry is refused, naming the line that set it.
  const file = writeConf(secureDir(t), 'ignore-source = 2001:db8::/32\n');
  const err = t.throws(() => parseSettings([], buildProgram(), file), { instanceOf: ConfigError });
  t.is(err?.message, `${file}:1: --ignore-source 2001:db8::/32 is an IPv6 network; IPv6 is watched only with --ipv6`);
});

rootTest('values the file sets that need another option name the line: --promisc, --ephemeral-ports, --json -', (t) => {
  const refusal = (text: string, argv: string[] = []): string | undefined => {
    const file = writeConf(secureDir(t), text);
    return t.throws(() => parseSettings(argv, buildProgram(), file), { instanceOf: ConfigError })?.message.replace(file, 'FILE');
  };
  t.is(refusal('# capture\npromisc = yes\n'), 'FILE:2: --promisc needs --interface');
  t.is(refusal('ephemeral-ports = 40000-50000\n'), 'FILE:1: --ephemeral-ports needs --udp');
  t.is(refusal('json = -\n'), 'FILE:1: --json - writes to standard output, which the daemon gives up when it detaches; add --foreground');
  // A value from the file beside one from the command line: the file's line is named.
  t.is(
    refusal('max-ports = 10\n', ['--scan-weight-threshold', '50']),
    'FILE:1: --scan-weight-threshold 50 needs room for 49 ports, but --max-ports is 10',
  );
});

rootTest('the file sets values; the command line overrides them one by one', (t) => {
  const text = 'scan-delay = 5\nlog-count = 9\nstderr = yes\nuser = nobody\n';
  const fromFile = withFile(t, text);
  t.is(fromFile.params.scanDelayMs, 5000);
  t.is(fromFile.params.logCount, 9);
  t.is(fromFile.stderr, true);
  t.is(fromFile.user, 'nobody');
  const overridden = withFile(t, text, ['--scan-delay', '1', '--user', 'scanlogd']);
  t.is(overridden.params.scanDelayMs, 1000);
  t.is(overridden.params.logCount, 9);
  t.is(overridden.user, 'scanlogd');
});

rootTest('each value is remembered with where it came from: command line, file and line, preset, default', (t) => {
  const file = writeConf(secureDir(t), '# tuned\npreset = sensitive\nlog-count = 9\n');
  const { sources, file: read } = resolveSettings(['--scan-delay', '5'], buildProgram(), file);
  t.is(read, file);
  t.deepEqual(sources.get('scanDelay'), { from: 'command line' });
  t.deepEqual(sources.get('preset'), { from: 'file', file, line: 2 });
  t.deepEqual(sources.get('logCount'), { from: 'file', file, line: 3 });
  t.deepEqual(sources.get('sources'), { from: 'preset', name: 'sensitive' });
  t.deepEqual(sources.get('user'), { from: 'default' });
});

rootTest("a preset from the file; the file's own values beat it; the command line's preset beats the file's", (t) => {
  t.deepEqual(withFile(t, 'preset = sensitive\n').params, parseSettings(['--preset', 'sensitive'], buildProgram(), NO_FILE).params);
  const mixed = withFile(t, 'preset = sensitive\nscan-min-count = 5\n');
  t.is(mixed.params.scanWeightThreshold, 15);
  t.is(mixed.params.scanDelayMs, 20000);
  const classicFromFile = withFile(t, 'scan-delay = 5\n', ['--preset', 'relaxed']);
  t.is(classicFromFile.params.scanDelayMs, 5000, 'a value in the file is explicit: the preset does not replace it');
  t.is(classicFromFile.params.scanWeightThreshold, 36);
  const cli = withFile(t, 'preset = sensitive\n', ['--preset', 'relaxed']);
  t.deepEqual(cli.params, parseSettings(['--preset', 'relaxed'], buildProgram(), NO_FILE).params);
});

rootTest("lists: the file's entries add up; a list on the command line replaces the file's", (t) => {
  const text = 'ignore-source = 192.0.2.10\nignore-source = 198.51.100.0/24\nignore-port = 21\n';
  const fromFile = withFile(t, text);
  t.deepEqual(fromFile.ignoreSource, [parseCidr('192.0.2.10'), parseCidr('198.51.100.0/24')]);
  t.deepEqual(fromFile.ignorePort, [parsePortRange('21')]);
  const replaced = withFile(t, text, ['--ignore-source', '203.0.113.0/24']);
  t.deepEqual(replaced.ignoreSource, [parseCidr('203.0.113.0/24')]);
  t.deepEqual(replaced.ignorePort, [parsePortRange('21')]);
});

rootTest('values that do not fit together are refused with the line of the value named first', (t) => {
  const file = (text: string): string => writeConf(secureDir(t), text);
  const f1 = file('# x\nhash-size = 100\n');
  t.is(t.throws(() => parseSettings([], buildProgram(), f1))?.message, `${f1}:2: --hash-size must be a power of two, not 100`);
  const f2 = file('max-ports = 10\nscan-weight-threshold = 50\n');
  t.is(
    t.throws(() => parseSettings([], buildProgram(), f2))?.message,
    `${f2}:2: --scan-weight-threshold 50 needs room for 49 ports, but --max-ports is 10`,
  );
});

test('the monitor reads no file: it is given its settings, and the file is no setting of its', (t) => {
  t.false((MONITOR_OPTION_NAMES as string[]).includes('config'));
  const monitor = parseMonitorArgument(monitorArgument(parseSettings(['--scan-delay', '9'], buildProgram(), NO_FILE)));
  t.is(monitor.params.scanDelayMs, 9000);
  t.false('config' in monitor);
});

// ---------------------------------------------------------------------------
// The packaged /etc/scanlogd.conf.

const PACKAGED = path.join(REPO, 'packaging', 'scanlogd.conf');

/** The keys the packaged file sets (not commented out), and to what. */
const PACKAGED_SETTINGS = { 'slow-scans': true };

test('the packaged file sets slow-scans and nothing else, says why, and shows every key', (t) => {
  const text = fs.readFileSync(PACKAGED, 'utf8');
  t.deepEqual(parse(text), PACKAGED_SETTINGS);
  for (const key of configKeys(buildProgram()).keys()) {
    if (key in PACKAGED_SETTINGS) t.regex(text, new RegExp(`^${key} = \\S`, 'm'), `${key} is not set`);
    else t.regex(text, new RegExp(`^#${key} = \\S`, 'm'), `${key} is not shown`);
  }
  // The reason is given where the line is.
  t.regex(text, /The program's default is off[^]*This file turns it on[^]*\nslow-scans = yes\n/);
});

test('the packaged file turns the second stage on; without a file the binary keeps scanlogd 2.2.8 default, off', (t) => {
  t.false(defaultValues().slowScans);
  t.false(parseSettings([], buildProgram(), NO_FILE).slowScans);
  const dir = rootOwnedDir(t);
  const file = path.join(dir, 'scanlogd.conf');
  fs.copyFileSync(PACKAGED, file);
  fs.chmodSync(file, 0o644);
  t.true(parseSettings([], buildProgram(), file).slowScans);
  // "no" in the file (what an operator writes to turn it off) is scanlogd 2.2.8's log again.
  fs.writeFileSync(file, fs.readFileSync(PACKAGED, 'utf8').replace(/^slow-scans = yes$/m, 'slow-scans = no'));
  t.false(parseSettings([], buildProgram(), file).slowScans);
});

test('the .deb and the .rpm install the packaged file as /etc/scanlogd.conf, kept when edited', (t) => {
  const rules = fs.readFileSync(path.join(REPO, 'packaging', 'debian', 'rules'), 'utf8');
  t.regex(rules, /^\tinstall -D -m 0644 scanlogd\.conf \$\(PKGDIR\)\/etc\/scanlogd\.conf$/m);
  const spec = fs.readFileSync(path.join(REPO, 'packaging', 'rpm', 'scanlogd-ts.spec'), 'utf8');
  t.regex(spec, /^install -D -m 0644 scanlogd\.conf %\{buildroot\}%\{_sysconfdir\}\/scanlogd\.conf$/m);
  t.regex(spec, /^%config\(noreplace\) %\{_sysconfdir\}\/scanlogd\.conf$/m);
  // Both build from this file: build.sh copies it into the package's sources.
  t.regex(fs.readFileSync(path.join(REPO, 'packaging', 'build.sh'), 'utf8'), /packaging\/scanlogd\.conf /);
});

test("the packaged file's lines, uncommented, are valid, and show the defaults", (t) => {
  const text = fs.readFileSync(PACKAGED, 'utf8').replace(/^#([a-z][a-z0-9-]* = )/gm, '$1');
  const values = parseConfig(text, PACKAGED, buildProgram());
  const program = buildProgram();
  const defaults = defaultValues();
  let compared = 0;
  for (const v of values.values()) {
    if (v.key in PACKAGED_SETTINGS) continue;
    const wanted = defaults[v.attribute as OptionName];
    if (wanted === null || (Array.isArray(wanted) && wanted.length === 0)) continue;
    t.deepEqual(v.value, wanted, v.key);
    compared++;
  }
  t.true(compared >= 20, `only ${compared} defaults compared`);
  // Examples for what has no default; the derived values as the defaults derive them.
  t.is(values.get('scanWeightThreshold')?.value, DEFAULT_PARAMS.scanWeightThreshold);
  t.is(values.get('maxPorts')?.value, DEFAULT_PARAMS.maxPorts);
  t.is(values.size, configKeys(program).size);
});

// ---------------------------------------------------------------------------
// The preset tables of docs/configuration.md and scanlogd(8) say what the code does.

/** Row label -> the value each preset gives it, from `params`. */
const presetColumns: Array<[RegExp, (p: DetectorParams) => number]> = [
  [/scan-min-count/, (p) => p.scanWeightThreshold / p.portWeightPriv],
  [/weight threshold/, (p) => p.scanWeightThreshold],
  [/max-ports/, (p) => p.maxPorts],
  [/scan-delay/, (p) => p.scanDelayMs / 1000],
  [/sources/, (p) => p.listSize],
  [/hash-size/, (p) => p.hashSize],
];

function checkPresetTable(t: import('ava').ExecutionContext, rows: string[][]): void {
  t.is(rows.length, presetColumns.length, rows.map((r) => r.join(' ')).join('\n'));
  for (const [label, value] of presetColumns) {
    const row = rows.find((r) => label.test(r[0] as string));
    t.truthy(row, `no row for ${label}`);
    PRESET_NAMES.forEach((name, i) => {
      const params = parseSettings(['--preset', name], buildProgram(), NO_FILE).params;
      t.is(Number(row?.[i + 1]), value(params), `${label} ${name}`);
    });
  }
}

test('docs/configuration.md: the preset table matches the presets; the example file is valid', (t) => {
  const readme = fs.readFileSync(path.join(REPO, 'docs', 'configuration.md'), 'utf8');
  const table = /\n\| \| classic \| sensitive \| relaxed \|\n\|[-|]+\|\n((?:\|.*\|\n)+)/.exec(readme)?.[1] ?? '';
  checkPresetTable(
    t,
    table
      .trim()
      .split('\n')
      .map((l) =>
        l
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim().replace(/`/g, '')),
      ),
  );
  const example = /```\n(# \/etc\/scanlogd\.conf on a honeypot\n[^`]*)```/.exec(readme)?.[1];
  t.truthy(example);
  t.deepEqual(parse(example ?? ''), { preset: 'sensitive', 'scan-delay': 30000, 'ignore-source': [parseCidr('192.0.2.10')] });
});

test('scanlogd(8): the preset table matches the presets', (t) => {
  const page = fs.readFileSync(path.join(REPO, 'packaging', 'scanlogd.8'), 'utf8');
  const block = /\.SH PRESETS\n[\s\S]*?\.nf\n[^\n]*classic +sensitive +relaxed\n([\s\S]*?)\.fi/.exec(page)?.[1] ?? '';
  const rows = block
    .trim()
    .split('\n')
    .map((l) => {
      const m = /^(.*?) +(\d+) +(\d+) +(\d+)$/.exec(l.replace(/\\-/g, '-'));
      return m === null ? [l] : [m[1] as string, m[2] as string, m[3] as string, m[4] as string];
    });
  checkPresetTable(t, rows);
});

rootTest('every option in seconds takes decimals, on the command line and in the file, within its range', (t) => {
  const inSeconds = OPTION_NAMES.filter((name) => {
    const spec = specOf(name);
    return spec.kind === 'value' && spec.arg === '<seconds>';
  });
  t.true(inSeconds.includes('statsInterval'));
  for (const name of inSeconds) {
    const spec = specOf(name);
    if (spec.kind !== 'value') continue;
    const [minMs] = spec.type.range ?? [0];
    // Half a second above the least value: a decimal no whole number of seconds gives.
    const text = String((minMs + 500) / 1000);
    const key = longName(name);
    const fromFile = withFile(t, `${key} = ${text}\n`);
    const fromArgs = parseSettings([`--${key}`, text], buildProgram(), NO_FILE);
    const value = (s: Settings): unknown => (spec.param === undefined ? s[name as keyof Settings] : s.params[spec.param]);
    t.is(value(fromArgs), minMs + 500, `--${key} ${text}`);
    t.is(value(fromFile), minMs + 500, `${key} = ${text}`);
    // Below the range, still refused (the command line's refusal ends the process: settings.test.ts).
    if (minMs >= 1000) t.throws(() => withFile(t, `${key} = ${(minMs - 500) / 1000}\n`), { instanceOf: ConfigError }, key);
  }
});
