// The real daemon in a network namespace: real scanners, a real syslog socket, real
// privilege drops read back from /proc, and what happens when either half dies.

import test, { type ExecutionContext } from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { createTestbed, isRoot, runIn, sleep, waitFor, type Testbed } from '../../harness/netns.js';
import { listenSyslog, makePidfilePath, makeSocketDir, SYSLOG_PREFIX, type SyslogListener } from '../../harness/syslog.js';
import { startScene, type Scene } from '../../harness/testbed-daemon.js';
import { entryScript, REPO, execCredentials, isAlive, readStatus, startOurs, userIds, signalIfAlive } from '../../harness/daemon.js';

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('integration tests skipped: they need root for network namespaces and raw sockets');

const setup = (t: ExecutionContext, extraArgs: string[] = [], nodeArgs: string[] = []): Promise<Scene> =>
  startScene(t, extraArgs, { nodeArgs });

/** The "@HH:MM:SS" of a line must be a time within the test's own span. */
function assertRecentStamp(t: ExecutionContext, line: string, before: Date): void {
  const m = / @(\d\d):(\d\d):(\d\d)$/.exec(line);
  t.truthy(m, `no time stamp in ${line}`);
  if (m === null) return;
  const stamp = new Date(before);
  stamp.setHours(Number(m[1]), Number(m[2]), Number(m[3]), 0);
  const skew = stamp.getTime() - Math.floor(before.getTime() / 1000) * 1000;
  t.true(skew >= 0 && skew <= 30000, `start time ${m[0]} is not within the test (${before.toISOString()})`);
}

const nmapScans = [
  { name: 'SYN', flag: '-sS', flags: 'fSrpauxy' },
  { name: 'FIN', flag: '-sF', flags: 'Fsrpauxy' },
  { name: 'Xmas', flag: '-sX', flags: 'FsrPaUxy' },
  { name: 'NULL', flag: '-sN', flags: 'fsrpauxy' },
];

for (const scan of nmapScans) {
  rootTest(`an nmap ${scan.name} scan gives exactly one line, with the right fields`, async (t) => {
    const { bed, syslog } = await setup(t);
    const before = new Date();
    const r = await runIn(bed.scanner, 'nmap', [
      '-n',
      '-Pn',
      '-r',
      scan.flag,
      '-g',
      '40000',
      '--ttl',
      '50',
      '--max-retries',
      '0',
      '-p',
      '1-20',
      bed.targetAddr,
    ]);
    t.is(r.code, 0, r.stderr);
    await waitFor('a syslog line', () => (syslog.datagrams.length > 0 ? true : undefined));
    await sleep(300);
    t.is(syslog.datagrams.length, 1, syslog.datagrams.join('\n'));
    const datagram = syslog.datagrams[0] as string;
    t.regex(datagram, SYSLOG_PREFIX);
    t.is(SYSLOG_PREFIX.exec(datagram)?.[1], '25');
    const message = syslog.messages()[0] as string;
    t.is(
      message.replace(/ @\d\d:\d\d:\d\d$/, ''),
      `${bed.scannerAddr}:40000 to ${bed.targetAddr} ports 1, 2, 3, 4, 5, 6, ..., ${scan.flags}, TOS 00, TTL 50`,
    );
    assertRecentStamp(t, message, before);
  });
}

rootTest('an nmap ACK scan is not a scan: ACKs from unknown sources are ignored', async (t) => {
  const { bed, syslog } = await setup(t);
  const r = await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sA', '--max-retries', '0', '-p', '1-100', bed.targetAddr]);
  t.is(r.code, 0, r.stderr);
  await sleep(500);
  t.deepEqual(syslog.datagrams, []);
});

rootTest('an hping3 SYN sweep is logged with its constant source port and TTL', async (t) => {
  const { bed, syslog } = await setup(t);
  const r = await runIn(bed.scanner, 'hping3', [
    '-q',
    '-S',
    '-s',
    '5000',
    '-k',
    '-p',
    '++1',
    '-t',
    '33',
    '-c',
    '10',
    '-i',
    'u20000',
    bed.targetAddr,
  ]);
  t.true(r.code === 0 || r.code === 1, `hping3: ${r.stderr}`); // 1: no replies counted
  await waitFor('a syslog line', () => (syslog.datagrams.length > 0 ? true : undefined));
  t.is(
    (syslog.messages()[0] as string).replace(/ @\d\d:\d\d:\d\d$/, ''),
    `${bed.scannerAddr}:5000 to ${bed.targetAddr} ports 1, 2, 3, 4, 5, 6, ..., fSrpauxy, TOS 00, TTL 33`,
  );
});

const lineFrom = (bed: Testbed): RegExp =>
  new RegExp(`^${bed.scannerAddr.replace(/\./g, '\\.')}:\\d+ to ${bed.targetAddr.replace(/\./g, '\\.')} ports `);

rootTest('capture keeps working under constant garbage collection (the raw socket does not depend on JS references)', async (t) => {
  // A GC every 100 allocations would end capture within milliseconds if anything on
  // the capture path (socket, batch buffer, callbacks) depended on a JS reference.
  const { bed, syslog } = await setup(t, [], ['--gc-interval=100']);
  await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1-300', bed.targetAddr]);
  await waitFor('the first line', () => (syslog.datagrams.length >= 1 ? true : undefined));
  await sleep(3500); // the source goes stale, so the next scan is a new one
  await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sF', '--max-retries', '0', '-p', '1-300', bed.targetAddr]);
  await waitFor('the second line', () => (syslog.datagrams.length >= 2 ? true : undefined));
  t.is(syslog.datagrams.length, 2);
  for (const m of syslog.messages()) t.regex(m, lineFrom(bed));
});

rootTest('a syslog socket that goes away and comes back: the queued line is delivered', async (t) => {
  const { bed, syslog, daemon } = await setup(t);
  // The start line goes out once the monitor is up; under load it can still be on its way,
  // and would then be a second queued line.
  await waitFor('the start line', () => (syslog.notices.length >= 1 ? true : undefined), 5000);
  syslog.close(); // the socket file is gone, as while rsyslog restarts
  await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1-100', bed.targetAddr]);
  await sleep(500);
  const again = listenSyslog(syslog.path);
  t.teardown(() => again.close());
  await waitFor('the queued line', () => (again.datagrams.length >= 1 ? true : undefined), 3000);
  t.is(again.datagrams.length, 1);
  t.regex(again.messages()[0] as string, lineFrom(bed));
  t.true(await daemon.said(/syslog socket .* reachable again, delivering 1 queued lines/), daemon.stderr());
});

/**
 * Run as python3 -c KILL_ON_SENDMSG COMMAND...: loads a seccomp filter that kills any
 * process calling sendmsg(2), the call that passes descriptors (SCM_RIGHTS; both halves'
 * own filters refuse sendmmsg), and executes the command; both halves inherit it.
 */
const KILL_ON_SENDMSG = String.raw`
import os, seccomp, sys
f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
f.add_rule(seccomp.KILL_PROCESS, "sendmsg")
f.load()
os.execv(sys.argv[1], sys.argv[1:])
`;
const havePythonSeccomp = childProcess.spawnSync('/usr/bin/python3', ['-c', 'import seccomp']).status === 0;
const seccompTest = isRoot && havePythonSeccomp ? test.serial : test.serial.skip;
if (isRoot && !havePythonSeccomp) console.log('sendmsg test skipped: it needs python3-seccomp (scripts/test-setup.sh installs it)');

seccompTest(
  'no part of the daemon calls sendmsg: killed on it, the daemon still logs, rides out a syslog restart, answers SIGUSR1 and stops cleanly',
  async (t) => {
    const { bed, syslog, daemon } = await startScene(t, [], { wrap: ['/usr/bin/python3', '-c', KILL_ON_SENDMSG] });
    const { capturePid, monitorPid } = await daemon.ready();
    await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1-100', bed.targetAddr]);
    await waitFor('the first line', () => (syslog.datagrams.length >= 1 ? true : undefined));
    await sleep(3500); // the source goes stale, so the next scan is a new one
    syslog.close();
    await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sF', '--max-retries', '0', '-p', '1-100', bed.targetAddr]);
    await sleep(500);
    const again = listenSyslog(syslog.path);
    t.teardown(() => again.close());
    await waitFor('the queued line', () => (again.datagrams.length >= 1 ? true : undefined), 3000);
    process.kill(capturePid, 'SIGUSR1');
    await waitFor('the counters line', () => (again.messages().some((m) => m.startsWith('counters: ')) ? true : undefined), 3000);
    t.regex(syslog.messages()[0] as string, lineFrom(bed));
    t.regex(again.messages()[0] as string, lineFrom(bed));
    t.true(isAlive(monitorPid));
    await daemon.kill();
    t.deepEqual(await daemon.exited, { code: 0, signal: null }, daemon.stderr());
    t.notRegex(daemon.stderr(), /SIGSYS/);
  },
);

rootTest('no syslog socket at start: the daemon waits for one, says so, and delivers later', async (t) => {
  const bed = createTestbed();
  const dir = makeSocketDir();
  const socketPath = path.join(dir, 'log');
  const daemon = startOurs(bed, ['--foreground', '--syslog-socket', socketPath]);
  let late: SyslogListener | null = null;
  t.teardown(async () => {
    try {
      await daemon.kill();
    } finally {
      late?.close();
      bed.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  await daemon.ready();
  t.true(
    await daemon.said(/scanlogd monitor: syslog socket .*\/log: ENOENT; retrying every 200 ms, keeping up to 1000 lines/),
    daemon.stderr(),
  );
  await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1-100', bed.targetAddr]);
  await sleep(300);
  late = listenSyslog(socketPath);
  const listener = late;
  await waitFor('the queued line', () => (listener.datagrams.length >= 1 ? true : undefined), 3000);
  t.regex(listener.messages()[0] as string, lineFrom(bed));
});

rootTest('both halves run as scanlogd with no capabilities; capture is chrooted; the monitor was never root', async (t) => {
  const { daemon } = await setup(t);
  const { capturePid, monitorPid } = await daemon.ready();
  const { uid, gid } = userIds('scanlogd');
  const zero = '0000000000000000';

  const capture = readStatus(capturePid);
  t.deepEqual(capture?.uid, [uid, uid, uid, uid]);
  t.deepEqual(capture?.gid, [gid, gid, gid, gid]);
  t.deepEqual(capture?.groups, [gid]);
  t.deepEqual([capture?.capInh, capture?.capPrm, capture?.capEff], [zero, zero, zero]);
  t.is(fs.readlinkSync(`/proc/${capturePid}/root`), '/var/empty');
  t.is(fs.readlinkSync(`/proc/${capturePid}/cwd`), '/var/empty');

  const monitor = readStatus(monitorPid);
  t.is(monitor?.ppid, capturePid);
  t.deepEqual(monitor?.uid, [uid, uid, uid, uid]);
  t.deepEqual(monitor?.gid, [gid, gid, gid, gid]);
  t.deepEqual(monitor?.groups, []);
  t.deepEqual([monitor?.capInh, monitor?.capPrm, monitor?.capEff], [zero, zero, zero]);
  // The auxiliary vector holds the ids the process was exec'd with: scanlogd's,
  // so the monitor never ran as root and then dropped.
  t.deepEqual(execCredentials(monitorPid), { uid, euid: uid, gid, egid: gid });
  t.is(fs.readFileSync(`/proc/${monitorPid}/environ`).length, 0);
  // The channel is fd 3, a socket.
  t.regex(fs.readlinkSync(`/proc/${monitorPid}/fd/3`), /^socket:\[\d+\]$/);
});

/** Each descriptor above 2 of a process, as "N -> target". */
function descriptors(pid: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    if (Number(fd) > 2) out.set(Number(fd), fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
  }
  return out;
}

/** Socket inodes of one kind from a /proc/net table as seen by `pid`. */
function socketInodes(pid: number, table: 'raw' | 'unix', unixType?: string): Set<string> {
  const lines = fs.readFileSync(`/proc/${pid}/net/${table}`, 'utf8').trim().split('\n').slice(1);
  const inodes = new Set<string>();
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    if (table === 'raw') inodes.add(f[9] as string);
    else if (unixType === undefined || f[4] === unixType) inodes.add(f[6] as string);
  }
  return inodes;
}

rootTest('each process holds only the descriptors it needs; the monitor never holds the raw socket', async (t) => {
  const { daemon } = await setup(t);
  const { capturePid, monitorPid } = await daemon.ready();
  const raw = socketInodes(capturePid, 'raw');
  const stream = socketInodes(capturePid, 'unix', '0001');
  const dgram = socketInodes(capturePid, 'unix', '0002');
  const kinds = (pid: number): string[] =>
    [...descriptors(pid)]
      .map(([fd, target]) => {
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode === undefined) return /^(pipe|anon_inode):/.test(target) ? null : `${fd}:${target}`;
        if (raw.has(inode)) return `${fd}:raw socket`;
        if (stream.has(inode)) return `${fd}:unix stream socket`;
        if (dgram.has(inode)) return `${fd}:unix datagram socket`;
        return `${fd}:${target}`;
      })
      .filter((k): k is string => k !== null)
      .map((k) => (k.endsWith('/dev/null') ? '/dev/null' : k));
  t.log('capture:', kinds(capturePid).join(', '));
  t.log('monitor:', kinds(monitorPid).join(', '));
  // Besides Node's own event-loop pipes and eventfds: the capture process has the raw
  // socket and its end of the channel; the monitor has the channel on fd 3 and its
  // syslog socket. Nothing else: no file, no inherited descriptor.
  const strip = (list: string[]): string[] =>
    list
      .map((k) => k.replace(/^\d+:/, ''))
      .filter((k) => k !== '/dev/null')
      .sort();
  t.deepEqual(strip(kinds(capturePid)), ['raw socket', 'unix stream socket']);
  t.deepEqual(strip(kinds(monitorPid)), ['unix datagram socket', 'unix stream socket']);
  t.true(kinds(monitorPid).includes('3:unix stream socket'));
  // No socket is shared between the two (the channel is two ends of a pair).
  const sockets = (pid: number): string[] => [...descriptors(pid).values()].filter((v) => v.startsWith('socket:'));
  const shared = sockets(capturePid).filter((s) => sockets(monitorPid).includes(s));
  t.deepEqual(shared, []);
  // And the raw socket is close-on-exec: nothing the capture process could ever start
  // would inherit it (the spawn order is not what keeps it from the monitor).
  const rawFds = [...descriptors(capturePid)].filter(([, target]) => raw.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? ''));
  t.is(rawFds.length, 1);
  const fdinfo = fs.readFileSync(`/proc/${capturePid}/fdinfo/${rawFds[0]?.[0]}`, 'utf8');
  const flags = parseInt(/^flags:\s*([0-7]+)/m.exec(fdinfo)?.[1] ?? '0', 8);
  t.not(flags & 0o2000000, 0, `raw socket flags ${flags.toString(8)} lack O_CLOEXEC`);
  t.not(flags & 0o4000, 0, `raw socket flags ${flags.toString(8)} lack O_NONBLOCK`);
});

rootTest('the monitor cannot ptrace the capture process, although both run as scanlogd', async (t) => {
  const { daemon } = await setup(t);
  const { capturePid } = await daemon.ready();
  // PTRACE_ATTACH (16) from a process with the monitor's credentials. The capture
  // process changed its ids after start, which makes the kernel mark it not dumpable.
  const attempt = childProcess.spawnSync(
    'setpriv',
    [
      '--reuid=scanlogd',
      '--regid=scanlogd',
      '--clear-groups',
      '/usr/bin/python3',
      '-c',
      'import ctypes,os,sys; libc=ctypes.CDLL(None, use_errno=True); ' +
        'r=libc.ptrace(16, int(sys.argv[1]), 0, 0); print(r, os.strerror(ctypes.get_errno()))',
      String(capturePid),
    ],
    { encoding: 'utf8' },
  );
  t.is(attempt.stdout.trim(), '-1 Operation not permitted', attempt.stderr);
  // And its /proc entries are root's, not readable by the same uid.
  t.is(fs.statSync(`/proc/${capturePid}/environ`).uid, 0);
  const peek = childProcess.spawnSync(
    'setpriv',
    ['--reuid=scanlogd', '--regid=scanlogd', '--clear-groups', 'cat', `/proc/${capturePid}/environ`],
    { encoding: 'utf8' },
  );
  t.not(peek.status, 0);
});

rootTest('killing the monitor ends the capture process within a second, non-zero, saying why', async (t) => {
  const { daemon } = await setup(t);
  const { monitorPid } = await daemon.ready();
  const killedAt = Date.now();
  process.kill(monitorPid, 'SIGKILL');
  const { code } = await daemon.exited;
  t.true(Date.now() - killedAt < 1000, `took ${Date.now() - killedAt} ms`);
  t.is(code, 1);
  t.regex(daemon.stderr(), /scanlogd capture: monitor \(pid \d+\) was killed by SIGKILL/);
});

rootTest('killing the capture process ends the monitor within a second, saying why', async (t) => {
  const { daemon } = await setup(t);
  const { capturePid, monitorPid } = await daemon.ready();
  const killedAt = Date.now();
  process.kill(capturePid, 'SIGKILL');
  await waitFor('the monitor to exit', () => (isAlive(monitorPid) ? undefined : true), 1000, 5);
  t.true(Date.now() - killedAt < 1000);
  t.true(await daemon.said(/scanlogd monitor: capture process closed the channel/), daemon.stderr());
});

rootTest('SIGTERM stops both halves with status 0 and removes the pidfile', async (t) => {
  const pidfile = makePidfilePath(t);
  const { daemon } = await setup(t, ['--pidfile', pidfile]);
  const { capturePid, monitorPid } = await daemon.ready();
  t.is(fs.readFileSync(pidfile, 'utf8'), `${capturePid}\n`);
  t.is(fs.statSync(pidfile).uid, 0);
  const sentAt = Date.now();
  process.kill(capturePid, 'SIGTERM');
  const { code } = await daemon.exited;
  t.is(code, 0);
  await waitFor('the monitor to exit', () => (isAlive(monitorPid) ? undefined : true), 1000, 5);
  t.true(Date.now() - sentAt < 1000);
  t.false(fs.existsSync(pidfile), daemon.stderr());
});

rootTest('without --foreground the command returns 0 once the daemon runs detached', async (t) => {
  const bed = createTestbed();
  const dir = makeSocketDir();
  const { uid, gid } = userIds('scanlogd');
  fs.chownSync(dir, uid, gid);
  const syslog = listenSyslog(path.join(dir, 'log'));
  const pidfile = path.join(dir, 'scanlogd.pid');
  let daemonPid = 0;
  t.teardown(() => {
    if (daemonPid > 0) signalIfAlive(daemonPid, 'SIGKILL');
    syslog.close();
    bed.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const r = childProcess.spawnSync(
    'ip',
    ['netns', 'exec', bed.target, process.execPath, entryScript(), '--syslog-socket', syslog.path, '--pidfile', pidfile],
    {
      encoding: 'utf8',
      timeout: 20000,
    },
  );
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr, '');
  daemonPid = Number(fs.readFileSync(pidfile, 'utf8'));
  const status = readStatus(daemonPid);
  t.is(status?.uid[0], uid);
  t.is(status?.ppid, 1, 'the daemon is detached from the command that started it');

  await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1-20', bed.targetAddr]);
  await waitFor('a syslog line', () => (syslog.datagrams.length > 0 ? true : undefined));
  t.regex(
    syslog.messages()[0] as string,
    new RegExp(`^${bed.scannerAddr.replace(/\./g, '\\.')}:\\d+ to ${bed.targetAddr.replace(/\./g, '\\.')} ports `),
  );

  process.kill(daemonPid, 'SIGTERM');
  await waitFor('the daemon to stop', () => (isAlive(daemonPid) ? undefined : true), 2000);
  await waitFor('the pidfile to go', () => (fs.existsSync(pidfile) ? undefined : true), 1000);
  t.pass();
});

interface StartupCase {
  name: string;
  /** Another copy of the entry script to run, made inside the test directory. */
  entry?: (dir: string) => string;
  args: (dir: string) => string[];
  prepare?: (dir: string) => void;
  wrap?: string[];
  uid?: number;
  expect: RegExp;
}

const startupCases: StartupCase[] = [
  { name: 'not root', args: () => ['-f'], uid: 65534, expect: /^scanlogd: must be run as root$/ },
  { name: 'unknown user', args: () => ['-f', '--user', 'no-such-user'], expect: /^scanlogd: getpwnam\("no-such-user"\): No such user$/ },
  {
    name: 'missing chroot dir',
    args: (d) => ['-f', '--chroot', `${d}/missing`],
    expect: /^scanlogd: chroot\(".*\/missing"\): No such file or directory$/,
  },
  {
    name: 'group-writable chroot dir',
    prepare: (d) => {
      fs.mkdirSync(`${d}/jail`);
      fs.chmodSync(`${d}/jail`, 0o775);
    },
    args: (d) => ['-f', '--chroot', `${d}/jail`],
    expect: /^scanlogd: chroot dir .*\/jail: .*\/jail is writable by group \(mode 775\)$/,
  },
  {
    name: 'chroot dir below a directory root does not own',
    prepare: (d) => {
      fs.mkdirSync(`${d}/owned/jail`, { recursive: true, mode: 0o755 });
      fs.chownSync(`${d}/owned`, 65534, 65534);
    },
    args: (d) => ['-f', '--chroot', `${d}/owned/jail`],
    expect: /^scanlogd: chroot dir .*\/owned\/jail: .*\/owned is owned by uid 65534, not root$/,
  },
  {
    name: 'raw socket unavailable (root without CAP_NET_RAW, as in a restricted container)',
    wrap: ['setpriv', '--bounding-set=-net_raw'],
    args: () => ['-f'],
    expect: /^scanlogd: raw socket: Operation not permitted$/,
  },
  {
    name: 'libpcap on a device that does not exist',
    args: () => ['-f', '--interface', 'nosuch0'],
    expect: /^scanlogd: libpcap on nosuch0: No such device exists$/,
  },
  {
    name: 'libpcap reader not built (npm ci without libpcap-dev)',
    entry: (d) => {
      // The staged tree, which user scanlogd can read, less the libpcap reader.
      const tree = path.dirname(path.dirname(entryScript()));
      // package.json holds the version the daemon says.
      for (const item of ['package.json', 'bin', 'dist', 'build', 'node_modules'])
        fs.cpSync(path.join(tree, item), `${d}/app/${item}`, { recursive: true });
      fs.rmSync(`${d}/app/build/Release/pcaprecv.node`);
      return `${d}/app/bin/scanlogd.js`;
    },
    args: () => ['-f', '--interface', 'lo'],
    expect:
      /^scanlogd: libpcap: reader \S+\/app\/build\/Release\/pcaprecv\.node: Cannot find module '\S+\/app\/build\/Release\/pcaprecv\.node' \(it needs libpcap at run time; npm ci builds it where libpcap-dev is installed\)$/,
  },
  {
    name: 'libpcap without CAP_NET_RAW',
    wrap: ['setpriv', '--bounding-set=-net_raw'],
    args: () => ['-f', '--interface', 'lo'],
    expect: /^scanlogd: libpcap on lo: socket: Operation not permitted$/,
  },
  {
    name: 'user namespace where the scanlogd ids do not exist',
    wrap: ['unshare', '--user', '--map-root-user'],
    args: () => ['-f'],
    expect: /^scanlogd: cannot start the monitor as user scanlogd: spawn EINVAL$/,
  },
  {
    name: 'pidfile directory writable by others (/tmp)',
    args: () => ['-f', '--pidfile', '/tmp/scanlogd.pid'],
    expect:
      /^scanlogd: pidfile \/tmp\/scanlogd\.pid: directory \/tmp is writable by others \(mode 1777\); use one that only root and user scanlogd can write, such as \/run\/scanlogd$/,
  },
  {
    name: 'pidfile directory the scanlogd user cannot write',
    args: (d) => ['-f', '--pidfile', `${d}/rootonly/scanlogd.pid`],
    prepare: (d) => fs.mkdirSync(`${d}/rootonly`, { mode: 0o755 }),
    expect:
      /^scanlogd: pidfile .*\/rootonly\/scanlogd\.pid: directory .* must be writable by user scanlogd, which removes the file at the end$/,
  },
  {
    name: 'daemon installed where the scanlogd user cannot read it',
    entry: (d) => {
      fs.mkdirSync(`${d}/private`, { mode: 0o700 });
      fs.chmodSync(`${d}/private`, 0o700);
      fs.copyFileSync(path.join(REPO, 'package.json'), `${d}/private/package.json`);
      fs.cpSync(path.join(REPO, 'bin'), `${d}/private/bin`, { recursive: true });
      fs.cpSync(path.join(REPO, 'dist'), `${d}/private/dist`, { recursive: true });
      fs.symlinkSync(path.join(REPO, 'node_modules'), `${d}/private/node_modules`);
      // Its own addons too: the capture process loads them before it looks at the tree.
      fs.symlinkSync(path.join(REPO, 'build'), `${d}/private/build`);
      return `${d}/private/bin/scanlogd.js`;
    },
    args: () => ['-f'],
    expect:
      /^scanlogd: user scanlogd cannot reach .*\/private\/bin\/scanlogd\.js: .*\/private is not searchable by it \(mode 700\); install the daemon where that user can read it \(npm start runs a copy of the tree from \/run\/scanlogd-dev\)$/,
  },
  {
    name: 'unknown user, detached start',
    args: () => ['--user', 'no-such-user'],
    expect: /^scanlogd: getpwnam\("no-such-user"\): No such user$/,
  },
  {
    name: 'invalid option value',
    args: () => ['-f', '--scan-delay', '0'],
    expect: /^scanlogd: option '--scan-delay <seconds>' argument '0' is invalid\. must be more than 0/,
  },
];

for (const c of startupCases) {
  rootTest(`start-up refused with one line and status 1: ${c.name}`, (t) => {
    const dir = makeSocketDir();
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    c.prepare?.(dir);
    const command = [...(c.wrap ?? []), process.execPath, c.entry?.(dir) ?? entryScript(), ...c.args(dir)];
    const r = childProcess.spawnSync(command[0] as string, command.slice(1), {
      encoding: 'utf8',
      timeout: 20000,
      ...(c.uid === undefined ? {} : { uid: c.uid, gid: c.uid }),
    });
    t.is(r.status, 1, `stderr: ${r.stderr}`);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    t.is(lines.length, 1, r.stderr);
    t.regex(lines[0] ?? '', c.expect);
  });
}
