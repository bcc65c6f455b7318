// The daemon's configuration beyond scanlogd 2.2.8, with real scans in a network
// namespace: ignored sources and ports, presets, the configuration file against the
// command line, and the one-line refusals of a bad file.

import test from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { isRoot, runIn, sh, sleep, waitFor, type Testbed } from '../../harness/netns.js';
import { startScene, type Scene } from '../../harness/testbed-daemon.js';
import { entryScript } from '../../harness/daemon.js';
import { schemaErrors } from '../helpers/event-schema.js';
import { rootOwnedDir } from '../helpers/dirs.js';

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('configuration integration tests skipped: they need root for network namespaces and raw sockets');

const confDir = rootOwnedDir;

function writeConf(dir: string, text: string, mode = 0o644): string {
  const file = path.join(dir, 'scanlogd.conf');
  fs.writeFileSync(file, text);
  fs.chmodSync(file, mode);
  return file;
}

/** nmap SYN scan of `ports` in order, from source port 40000 with TTL 50. */
async function nmap(bed: Testbed, ports: string, extra: string[] = []): Promise<void> {
  const r = await runIn(bed.scanner, 'nmap', [
    '-n',
    '-Pn',
    '-r',
    '-sS',
    '-g',
    '40000',
    '--ttl',
    '50',
    '--max-retries',
    '0',
    ...extra,
    '-p',
    ports,
    bed.targetAddr,
  ]);
  if (r.code !== 0) throw new Error(`nmap: ${r.stderr}`);
}

const stamp = / @\d\d:\d\d:\d\d$/;

/** The scan lines, without their time stamps, once `count` have come (and no more within 500 ms). */
async function linesAfter(scene: Scene, count: number): Promise<string[]> {
  if (count > 0) await waitFor(`${count} syslog lines`, () => (scene.syslog.datagrams.length >= count ? true : undefined), 5000);
  // Records take microseconds to be logged; half a second is a wide margin for a line that should not come.
  await sleep(500);
  return scene.syslog.messages().map((m) => m.replace(stamp, ''));
}

/** A second address of the scanner, on its veth, to scan from with nmap -S. */
function addScannerAddress(bed: Testbed): { addr: string; dev: string } {
  const links = sh('ip', ['-n', bed.scanner, '-o', 'link', 'show', 'type', 'veth']);
  const dev = /^\d+: ([^@:]+)[@:]/.exec(links)?.[1];
  if (dev === undefined) throw new Error(`no veth in ${bed.scanner}: ${links}`);
  const addr = bed.scannerAddr.replace(/\.\d+$/, '.5');
  sh('ip', ['-n', bed.scanner, 'addr', 'add', `${addr}/24`, 'dev', dev]);
  return { addr, dev };
}

rootTest('an nmap scan from an ignored network logs nothing; the same scan from another address is logged', async (t) => {
  // The scanner's address ends in .2: the /31 holds .2 and .3, not .5.
  const scene = await startScene(t, (bed) => ['--ignore-source', `${bed.scannerAddr}/31`, '--ignore-source', '192.0.2.0/24']);
  const { bed } = scene;
  const other = addScannerAddress(bed);
  await nmap(bed, '1-100');
  t.deepEqual(await linesAfter(scene, 0), [], 'the ignored source was logged');
  await nmap(bed, '1-100', ['-S', other.addr, '-e', other.dev]);
  t.deepEqual(await linesAfter(scene, 1), [
    `${other.addr}:40000 to ${bed.targetAddr} ports 1, 2, 3, 4, 5, 6, ..., fSrpauxy, TOS 00, TTL 50`,
  ]);
});

rootTest('a scan of ignored ports only logs nothing; ignored ports are left out of a scan as if never sent', async (t) => {
  const scene = await startScene(t, ['--ignore-port', '1-10', '--ignore-port', '21-1000', '--ignore-port', '8080']);
  const { bed } = scene;
  await nmap(bed, '1-10,21-1000,8080');
  t.deepEqual(await linesAfter(scene, 0), []);
  // The ignored ports left no trace: a new scan of 1-20 starts with port 11.
  await nmap(bed, '1-20');
  t.deepEqual(await linesAfter(scene, 1), [
    `${bed.scannerAddr}:40000 to ${bed.targetAddr} ports 11, 12, 13, 14, 15, 16, ..., fSrpauxy, TOS 00, TTL 50`,
  ]);
});

interface PresetCase {
  args: string[];
  /** nmap runs, each after `pauseMs` of quiet. */
  scans: Array<{ ports: string; pauseMs?: number }>;
  /** Lines expected after the first scan, and after all of them. */
  first: string | null;
  last: string | null;
}

const presetCases: PresetCase[] = [
  // Each "not logged" is followed by the ports that complete the scan, so that the
  // daemon is shown to have counted the first ones.
  { args: [], scans: [{ ports: '1-4' }, { ports: '5-7' }], first: null, last: 'ports 1, 2, 3, 4, 5, 6, ...,' },
  { args: ['--preset', 'classic'], scans: [{ ports: '1-4' }, { ports: '5-7' }], first: null, last: 'ports 1, 2, 3, 4, 5, 6, ...,' },
  { args: ['--preset', 'sensitive'], scans: [{ ports: '1-4' }], first: 'ports 1, 2, 3, ...,', last: 'ports 1, 2, 3, ...,' },
  // 5 s between two ports is within sensitive's 20 s; classic forgets the source after 3 s.
  { args: ['--preset', 'sensitive'], scans: [{ ports: '1-2' }, { ports: '3-4', pauseMs: 5000 }], first: null, last: 'ports 1, 2, 3, ...,' },
  { args: ['--preset', 'classic'], scans: [{ ports: '1-6' }, { ports: '7-8', pauseMs: 5000 }], first: null, last: null },
  {
    args: ['--preset', 'relaxed'],
    scans: [{ ports: '1-11' }, { ports: '12' }],
    first: null,
    last: 'ports 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ...,',
  },
  {
    args: ['--preset', 'sensitive', '--scan-min-count', '7'],
    scans: [{ ports: '1-6' }, { ports: '7' }],
    first: null,
    last: 'ports 1, 2, 3, 4, 5, 6, ...,',
  },
];

for (const c of presetCases) {
  const name = `${c.args.length === 0 ? 'no preset' : c.args.join(' ')}: nmap ${c.scans.map((s) => (s.pauseMs ? `(${s.pauseMs / 1000} s) ` : '') + s.ports).join(', then ')}`;
  rootTest(
    `${name}: ${c.first === null ? 'not logged' : 'logged'} after the first${c.scans.length > 1 ? `, ${c.last === null ? 'not logged' : 'logged'} after all` : ''}`,
    async (t) => {
      const scene = await startScene(t, c.args);
      const { bed } = scene;
      const expect = (line: string | null): string[] =>
        line === null ? [] : [`${bed.scannerAddr}:40000 to ${bed.targetAddr} ${line} fSrpauxy, TOS 00, TTL 50`];
      const [first, ...rest] = c.scans;
      await nmap(bed, first?.ports ?? '');
      t.deepEqual(await linesAfter(scene, c.first === null ? 0 : 1), expect(c.first));
      for (const scan of rest) {
        // linesAfter already waited 500 ms.
        if (scan.pauseMs !== undefined) await sleep(scan.pauseMs - 500);
        await nmap(bed, scan.ports);
      }
      if (rest.length > 0) t.deepEqual(await linesAfter(scene, c.last === null ? 0 : 1), expect(c.last));
    },
  );
}

rootTest('values from --config take effect, and the command line overrides them', async (t) => {
  const conf = '# a honeypot\nscan-min-count = 4\nignore-port = 7\n';
  const fromFile = await startScene(t, (_bed, dir) => ['--config', writeConf(dir, conf)]);
  await nmap(fromFile.bed, '1-5');
  t.deepEqual(await linesAfter(fromFile, 1), [
    `${fromFile.bed.scannerAddr}:40000 to ${fromFile.bed.targetAddr} ports 1, 2, 3, ..., fSrpauxy, TOS 00, TTL 50`,
  ]);
  const overridden = await startScene(t, (_bed, dir) => ['--config', writeConf(dir, conf), '--scan-min-count', '7']);
  await nmap(overridden.bed, '1-6');
  t.deepEqual(await linesAfter(overridden, 0), []);
  // The file's ignore list still holds: 1-6 and 8 make 7 counted ports, 7 is not one.
  await sleep(3100);
  await nmap(overridden.bed, '1-8');
  t.deepEqual(await linesAfter(overridden, 1), [
    `${overridden.bed.scannerAddr}:40000 to ${overridden.bed.targetAddr} ports 1, 2, 3, 4, 5, 6, ..., fSrpauxy, TOS 00, TTL 50`,
  ]);
});

rootTest('ignore-source from the configuration file: a scan from that source logs nothing', async (t) => {
  const scene = await startScene(t, (bed, dir) => ['--config', writeConf(dir, `ignore-source = ${bed.scannerAddr}\n`)]);
  await nmap(scene.bed, '1-100');
  t.deepEqual(await linesAfter(scene, 0), []);
});

// ---------------------------------------------------------------------------
// Refusals: each a single line on standard error and exit status 1, before anything
// starts; also without --foreground, where the launching command reports it.

interface BadConfig {
  name: string;
  text: string;
  mode?: number;
  prepare?: (file: string, dir: string) => string;
  args?: string[];
  line: (file: string, dir: string) => string;
}

const badConfigs: BadConfig[] = [
  { name: 'unknown key', text: '# x\nfoo = 1\n', line: (f) => `scanlogd: ${f}:2: unknown key "foo"` },
  {
    name: 'bad value',
    text: 'scan-delay = 0\n',
    line: (f) => `scanlogd: ${f}:1: bad value "0" for "scan-delay": must be more than 0 and at most 2147483.647 seconds.`,
  },
  { name: 'key set twice', text: 'user = scanlogd\nuser = nobody\n', line: (f) => `scanlogd: ${f}:2: "user" is already set on line 1` },
  { name: 'not key = value', text: 'stderr\n', line: (f) => `scanlogd: ${f}:1: expected "key = value"` },
  {
    name: 'values that do not fit together',
    text: 'hash-size = 100\n',
    line: (f) => `scanlogd: ${f}:1: --hash-size must be a power of two, not 100`,
  },
  {
    name: 'bad value, detached start',
    text: 'ignore-port = 2-1\n',
    args: [],
    line: (f) => `scanlogd: ${f}:1: bad value "2-1" for "ignore-port": is a reversed range; write 1-2.`,
  },
  { name: 'missing --config file', text: '', prepare: (f) => `${f}.missing`, line: (f) => `scanlogd: ${f}: No such file or directory` },
  { name: 'group-writable file', text: '', mode: 0o664, line: (f) => `scanlogd: ${f}: writable by group (mode 664)` },
  {
    name: 'file not owned by root',
    text: '',
    prepare: (f) => {
      fs.chownSync(f, 65534, 65534);
      return f;
    },
    line: (f) => `scanlogd: ${f}: owned by uid 65534, not root`,
  },
  {
    name: 'directory writable by others',
    text: '',
    prepare: (f, d) => {
      fs.chmodSync(d, 0o777);
      return f;
    },
    line: (f, d) => `scanlogd: ${f}: directory ${d} is writable by others (mode 777)`,
  },
];

for (const c of badConfigs) {
  rootTest(`a bad configuration file stops the start with one line and status 1: ${c.name}`, (t) => {
    const dir = confDir(t);
    const written = writeConf(dir, c.text, c.mode ?? 0o644);
    const file = c.prepare?.(written, dir) ?? written;
    const r = childProcess.spawnSync(
      process.execPath,
      [entryScript(), ...(c.args ?? ['--foreground']), '--config', file, '--syslog-socket', '/nonexistent/log'],
      {
        encoding: 'utf8',
        timeout: 20000,
      },
    );
    t.is(r.status, 1, r.stderr);
    t.is(r.stdout, '');
    t.is(r.stderr, `${c.line(file, dir)}\n`);
  });
}

rootTest('a detached daemon that finds the file bad reports the line through its status pipe, as the launcher reads it', (t) => {
  const dir = confDir(t);
  const file = writeConf(dir, 'foo = 1\n');
  // The launched daemon's own view: --foreground with a status descriptor (fd 3 here).
  const r = childProcess.spawnSync(process.execPath, [entryScript(), '--foreground', '--status-fd', '3', '--config', file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    timeout: 20000,
  });
  t.is(r.status, 1);
  t.is(r.stderr, '');
  t.is(String(r.output[3]), `error scanlogd: ${file}:1: unknown key "foo"\n`);
});

rootTest(
  '--preset sensitive --ignore-source CIDR --json -: the allowed network is silent, a 4-port scan from elsewhere is logged and its events reach standard output',
  async (t) => {
    // The scanner's .2 is inside the /31; the second address .5 is not.
    const scene = await startScene(t, (bed) => ['--preset', 'sensitive', '--ignore-source', `${bed.scannerAddr}/31`, '--json', '-']);
    const { bed, daemon } = scene;
    const other = addScannerAddress(bed);
    const events = (): Array<Record<string, unknown>> =>
      daemon
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);

    await nmap(bed, '1-100');
    t.deepEqual(await linesAfter(scene, 0), [], 'a scan from the ignored network was logged');
    t.deepEqual(events(), [], 'a scan from the ignored network produced events');

    // Four privileged ports: a scan under sensitive (classic needs seven).
    await nmap(bed, '1-4', ['-S', other.addr, '-e', other.dev]);
    t.deepEqual(await linesAfter(scene, 1), [`${other.addr}:40000 to ${bed.targetAddr} ports 1, 2, 3, ..., fSrpauxy, TOS 00, TTL 50`]);
    const scan = await waitFor('the scan event on standard output', () => events().find((e) => e['event'] === 'scan'));
    t.like(scan, {
      source: other.addr,
      source_port: 40000,
      destinations: [bed.targetAddr],
      ports: [1, 2, 3, 4],
      flags: 'fSrpauxy',
      syslog: 'logged',
    });
    t.deepEqual(schemaErrors(scan), []);
    // sensitive's delay is 20 s: the scan ends once that has passed without a packet.
    const end = await waitFor('the scan_end event', () => events().find((e) => e['event'] === 'scan_end'), 30000);
    t.like(end, { source: other.addr, reason: 'quiet', distinct_ports: 4, port_ranges: '1-4' });
    t.deepEqual(schemaErrors(end), []);
  },
);
