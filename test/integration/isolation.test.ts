// The halves against each other and against the host. Each attack is a system call
// made from inside the running process's main thread by the project's injector
// (harness/inject.ts): it runs with the process's own credentials, root directory and
// sandbox, as it would in a compromised process. Calls the sandbox refuses fail with
// EPERM and the process runs on; calls it forbids outright (ptrace, execve, id changes)
// kill the process with SIGSYS, and the other half exits non-zero within a second,
// saying so.

import test, { type ExecutionContext } from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { createTestbed, isRoot, runIn, sleep, waitFor } from '../../harness/netns.js';
import { scanIsLogged, startScene, type Scene } from '../../harness/testbed-daemon.js';
import { commandLine, isAlive, startOurs, userIds } from '../../harness/daemon.js';
import { ioUringFds, rawSocketOf, rawSockets, socketInodes } from '../../harness/proc.js';
import { listenSyslog, makePidfilePath, makeSocketDir } from '../../harness/syslog.js';
import { cString, injectCalls, passing, syscall, type Injection, type Syscall } from '../../harness/inject.js';
import { catchDescriptors, sockaddrUn } from '../../harness/fdcatcher.js';
import { CHANNEL_FD, MONITOR_JSON_FD } from '../../src/shared/fds.js';
import { encode } from '../../src/shared/record.js';
import { NO_SIGNAL_INSPECTOR, runtimeHas } from '../../src/capture/runtime.js';

const haveCompiler = fs.existsSync('/usr/bin/gcc');
const rootTest = isRoot && haveCompiler ? test.serial : test.serial.skip;
if (!isRoot || !haveCompiler) console.log('isolation tests skipped: they need root and gcc (for the injector)');

const PTRACE_SEIZE = 0x4206;
const AT_FDCWD = -100;
const AT_REMOVEDIR = 0x200;
const [O_RDONLY, O_WRONLY_CREAT] = [0, 0o101];
const [AF_UNIX, AF_INET, AF_INET6, AF_PACKET] = [1, 2, 10, 17];
const [SOCK_STREAM, SOCK_DGRAM, SOCK_RAW] = [1, 2, 3];
const [IPPROTO_IP, IP_HDRINCL] = [0, 3];
const SIGUSR1 = 10;
const RLIMIT_CPU = 0;
const [F_GETFL, F_SETFL, O_APPEND] = [3, 4, 0o2000];
const SEEK_SET = 0;
/** A local user who is neither root nor scanlogd: the one the monitor must not give anything to. */
const STRANGER = 4242;

function statusField(pid: number | string, task: number | string, name: string): string {
  const text = fs.readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
  return new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
}

/** The descriptor number under which `pid` holds the socket with this inode. */
function fdOfSocket(pid: number, inode: number): number {
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return Number(fd);
  }
  throw new Error(`process ${pid} holds no socket ${inode}`);
}

/** Inodes of the packet sockets in namespace `ns` (libpcap's). */
function packetSocketInodes(ns: string): Set<number> {
  const r = childProcess.spawnSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/packet'], { encoding: 'utf8' });
  return new Set(
    r.stdout
      .split('\n')
      .slice(1)
      .map((row) => Number(row.trim().split(/\s+/)[8]))
      .filter((inode) => inode > 0),
  );
}

/** A struct sockaddr_in for `address`, port 0. */
function sockaddrIn(address: string): Buffer {
  return Buffer.from([2, 0, 0, 0, ...address.split('.').map(Number), 0, 0, 0, 0, 0, 0, 0, 0]);
}

/** An int of value 1, as setsockopt takes a flag. */
const ONE = Buffer.from([1, 0, 0, 0]);
/** A struct rlimit of zeros: no CPU time at all, were it set. */
const NO_LIMIT_LEFT = Buffer.alloc(16);

/** Makes `calls` inside `pid`; every one must have been made and the process must run on. */
function refusedInside(t: ExecutionContext, pid: number, calls: Syscall[]): Injection {
  const inside = injectCalls(pid, calls);
  t.deepEqual(inside.ending, { kind: 'detached' }, inside.output);
  return inside;
}

rootTest("both halves: no_new_privs and a seccomp filter in every thread, neither dumpable (their /proc files are root's)", async (t) => {
  const { daemon } = await startScene(t);
  const { capturePid, monitorPid } = await daemon.ready();
  const { uid } = userIds('scanlogd');
  for (const pid of [capturePid, monitorPid]) {
    const threads = fs.readdirSync(`/proc/${pid}/task`);
    t.true(threads.length > 1);
    for (const task of threads) {
      t.is(statusField(pid, task, 'NoNewPrivs'), '1', `pid ${pid} thread ${task}`);
      t.is(statusField(pid, task, 'Seccomp'), '2', `pid ${pid} thread ${task}`);
      // The no-listen filter both carry, and each half's own allowlist on top.
      t.is(statusField(pid, task, 'Seccomp_filters'), '2', `pid ${pid} thread ${task}`);
    }
    t.is(statusField(pid, pid, 'Uid').split(/\s+/)[0], String(uid), 'it runs as scanlogd');
    // A dumpable process's /proc entries belong to its user; these are root's.
    t.is(fs.statSync(`/proc/${pid}/environ`).uid, 0, `pid ${pid}`);
    t.is(fs.statSync(`/proc/${pid}/mem`).uid, 0, `pid ${pid}`);
  }
  for (const half of ['capture', 'monitor']) {
    t.true(
      await daemon.said(
        new RegExp(
          `scanlogd ${half}: sandbox: no_new_privs, not dumpable, seccomp allowlist \\(\\d+ rules, other calls kill\\), Landlock ABI \\d+`,
        ),
      ),
      daemon.stderr(),
    );
  }
});

rootTest(
  'inside the capture process: no new socket, no IP_HDRINCL, no sending on the raw socket, no file, no SIGUSR1 to the monitor (EPERM); detection goes on',
  async (t) => {
    const scene = await startScene(t);
    const { capturePid, monitorPid } = await scene.daemon.ready();
    const raw = fdOfSocket(capturePid, rawSocketOf(scene.bed.target, capturePid).inode);
    // A bystander of the same user: the capture process may signal its monitor only.
    const bystander = childProcess.spawn('setpriv', ['--reuid=scanlogd', '--regid=scanlogd', '--clear-groups', 'sleep', '30'], {
      stdio: 'ignore',
    });
    t.teardown(() => bystander.kill('SIGKILL'));
    await waitFor('the bystander to run as scanlogd', () => (commandLine(bystander.pid as number) === 'sleep 30' ? true : undefined), 3000);
    const attempts: Array<[string, Syscall]> = [
      ['an AF_INET socket', syscall('socket', AF_INET, SOCK_DGRAM, 0)],
      ['an AF_UNIX socket', syscall('socket', AF_UNIX, SOCK_DGRAM, 0)],
      ['IP_HDRINCL on the raw socket', syscall('setsockopt', raw, IPPROTO_IP, IP_HDRINCL, ONE, 4)],
      ['sendto on the raw socket', syscall('sendto', raw, Buffer.alloc(20, 'x'), 20, 0, sockaddrIn(scene.bed.scannerAddr), 16)],
      ['write on the raw socket', syscall('write', raw, Buffer.alloc(20, 'x'), 20)],
      ['opening /etc/passwd', syscall('openat', AT_FDCWD, cString('/etc/passwd'), O_RDONLY)],
      ['opening a file in its chroot', syscall('openat', AT_FDCWD, cString('.'), O_RDONLY)],
      ['SIGUSR1 to the monitor', syscall('kill', monitorPid, SIGUSR1)],
      ['SIGKILL to another process of its user', syscall('kill', bystander.pid as number, 9)],
      ['a resource limit of the monitor', syscall('prlimit64', monitorPid, RLIMIT_CPU, NO_LIMIT_LEFT, 0)],
    ];
    const { results, output } = refusedInside(
      t,
      capturePid,
      attempts.map(([, call]) => call),
    );
    attempts.forEach(([what], i) => t.is(results[i]?.errno, 'EPERM', `${what}\n${output}`));
    t.true(isAlive(capturePid) && isAlive(monitorPid) && isAlive(bystander.pid as number));
    await scanIsLogged(scene);
  },
);

for (const [backend, args] of [
  ['--ipv6 --udp (four raw sockets)', ['--ipv6', '--udp']],
  ['libpcap (a packet socket)', null],
] as const) {
  rootTest(`inside the capture process with ${backend}: no write, sendto or IP_HDRINCL on any capture socket (EPERM)`, async (t) => {
    const scene = await startScene(t, (bed) => (args === null ? ['--interface', bed.targetDev] : [...args]));
    const { capturePid } = await scene.daemon.ready();
    const mine = socketInodes(capturePid);
    const tables = args === null ? packetSocketInodes(scene.bed.target) : new Set(rawSockets(scene.bed.target).keys());
    const fds = [...mine].filter((inode) => tables.has(inode)).map((inode) => fdOfSocket(capturePid, inode));
    t.is(fds.length, args === null ? 1 : 4);
    const calls = fds.flatMap((fd) => [
      syscall('write', fd, Buffer.alloc(60, 'x'), 60),
      syscall('sendto', fd, Buffer.alloc(20, 'x'), 20, 0, sockaddrIn(scene.bed.scannerAddr), 16),
      syscall('setsockopt', fd, IPPROTO_IP, IP_HDRINCL, ONE, 4),
    ]);
    const { results, output } = refusedInside(t, capturePid, calls);
    const labels = fds.flatMap((fd) => ['write', 'sendto', 'setsockopt'].map((name) => `${name} ${fd}`));
    t.deepEqual(
      results.map((r, i) => `${labels[i] ?? '?'}: ${r.errno ?? r.value}`),
      labels.map((label) => `${label}: EPERM`),
      output,
    );
    await scanIsLogged(scene);
  });
}

rootTest(
  'inside the monitor: no file, no AF_INET/AF_INET6/AF_PACKET socket, no signal to the capture process (EPERM); a Unix datagram socket is allowed',
  async (t) => {
    const scene = await startScene(t);
    const { capturePid, monitorPid } = await scene.daemon.ready();
    const attempts: Array<[string, Syscall]> = [
      ['opening /etc/passwd', syscall('openat', AT_FDCWD, cString('/etc/passwd'), O_RDONLY)],
      ['creating a file', syscall('openat', AT_FDCWD, cString('/tmp/scanlogd-isolation'), O_WRONLY_CREAT, 0o600)],
      ['an AF_INET socket', syscall('socket', AF_INET, SOCK_STREAM, 0)],
      ['an AF_INET6 socket', syscall('socket', AF_INET6, SOCK_DGRAM, 0)],
      ['an AF_PACKET socket', syscall('socket', AF_PACKET, SOCK_RAW, 0)],
      ['a Unix stream socket (D-Bus, journald)', syscall('socket', AF_UNIX, SOCK_STREAM, 0)],
      ['SIGUSR1 to the capture process', syscall('kill', capturePid, SIGUSR1)],
      ['a resource limit of the capture process', syscall('prlimit64', capturePid, RLIMIT_CPU, NO_LIMIT_LEFT, 0)],
    ];
    const { results, output } = refusedInside(t, monitorPid, [
      ...attempts.map(([, call]) => call),
      syscall('socket', AF_UNIX, SOCK_DGRAM, 0),
    ]);
    attempts.forEach(([what], i) => t.is(results[i]?.errno, 'EPERM', `${what}\n${output}`));
    const unixSocket = results[attempts.length]?.value ?? -1;
    t.true(unixSocket >= 0, `AF_UNIX datagram socket (syslog): ${output}`);
    // Closed again: the monitor's own descriptors stay as they were.
    t.is(refusedInside(t, monitorPid, [syscall('close', unixSocket)]).results[0]?.value, 0);
    t.false(fs.existsSync('/tmp/scanlogd-isolation'));
    t.true(isAlive(capturePid) && isAlive(monitorPid));
    await scanIsLogged(scene);
  },
);

rootTest(
  'inside the monitor: no descriptor leaves it; sendmsg and sendmmsg passing its --json file or its channel (SCM_RIGHTS) to a socket another user bound are refused (EPERM), and that user receives nothing',
  async (t) => {
    const scene = await startScene(t, (_bed, dir) => ['--json', path.join(dir, 'events.json')]);
    const { capturePid, monitorPid } = await scene.daemon.ready();
    const catcher = await catchDescriptors(STRANGER, STRANGER);
    t.teardown(() => catcher.close());
    // The monitor may make a Unix datagram socket (its syslog reconnect) and connect it.
    const made = refusedInside(t, monitorPid, [syscall('socket', AF_UNIX, SOCK_DGRAM, 0)]);
    const fd = made.results[0]?.value ?? -1;
    t.true(fd >= 0, made.output);
    const { address, length } = sockaddrUn(catcher.path);
    const written = Buffer.from('no descriptor');
    const { results, output } = refusedInside(t, monitorPid, [
      syscall('connect', fd, address, length),
      syscall('sendmsg', fd, passing(MONITOR_JSON_FD), 0),
      syscall('sendmmsg', fd, passing(MONITOR_JSON_FD), 1, 0),
      syscall('sendmsg', fd, passing(CHANNEL_FD), 0),
      // The connection works: what write(2) sends arrives, and it cannot carry a descriptor.
      syscall('write', fd, written, written.length),
      syscall('close', fd),
    ]);
    t.deepEqual(
      results.map((r) => `${r.call.name}: ${r.errno ?? r.value}`),
      ['connect: 0', 'sendmsg: EPERM', 'sendmmsg: EPERM', 'sendmsg: EPERM', `write: ${written.length}`, 'close: 0'],
      output,
    );
    await waitFor('the written datagram', () => (catcher.received().length > 0 ? true : undefined), 3000);
    await sleep(200);
    t.deepEqual(catcher.received(), [{ data: written, descriptors: [] }]);
    t.true(isAlive(capturePid) && isAlive(monitorPid));
    await scanIsLogged(scene);
  },
);

/** The --json file of a scene with one real scan in it, and what it holds. */
async function eventsFileWithScan(t: ExecutionContext): Promise<{ scene: Scene; file: string; before: string; monitorPid: number }> {
  let file = '';
  const scene = await startScene(t, (_bed, dir) => {
    file = path.join(dir, 'events.json');
    return ['--json', file];
  });
  const { monitorPid } = await scene.daemon.ready();
  await scanIsLogged(scene);
  await waitFor('the scan in the events file', () => (fs.readFileSync(file, 'utf8').includes('"scan"') ? true : undefined), 3000);
  return { scene, file, before: fs.readFileSync(file, 'utf8'), monitorPid };
}

rootTest(
  'inside the monitor: the --json file stays append-only; clearing O_APPEND is refused (EPERM), a write lands at its end, and seeking back kills the monitor (SIGSYS)',
  async (t) => {
    const { scene, file, before, monitorPid } = await eventsFileWithScan(t);
    const appended = Buffer.from('appended\n');
    const inside = injectCalls(monitorPid, [
      syscall('fcntl', MONITOR_JSON_FD, F_GETFL),
      syscall('fcntl', MONITOR_JSON_FD, F_SETFL, 0),
      syscall('fcntl', MONITOR_JSON_FD, F_GETFL),
      syscall('write', MONITOR_JSON_FD, appended, appended.length),
      syscall('lseek', MONITOR_JSON_FD, 0, SEEK_SET),
    ]);
    const [flags, cleared, flagsAfter, write] = inside.results;
    t.is((flags?.value ?? 0) & O_APPEND, O_APPEND, inside.output);
    t.is(cleared?.errno, 'EPERM', inside.output);
    t.is((flagsAfter?.value ?? 0) & O_APPEND, O_APPEND, inside.output);
    t.is(write?.value, appended.length, inside.output);
    t.deepEqual(inside.ending, { kind: 'killed', during: 4, signal: 'SIGSYS' }, inside.output);
    t.not((await scene.daemon.exited).code, 0);
    t.is(fs.readFileSync(file, 'utf8'), `${before}${appended.toString()}`);
  },
);

for (const [what, call] of [
  [
    'pwrite64 at its start',
    (file: string) =>
      syscall('pwrite64', MONITOR_JSON_FD, Buffer.from(fs.readFileSync(file, 'utf8').replace(/\d/g, '9')), fs.statSync(file).size, 0),
  ],
  ['ftruncate', () => syscall('ftruncate', MONITOR_JSON_FD, 0)],
  ['renameat', (file: string) => syscall('renameat', AT_FDCWD, cString(file), AT_FDCWD, cString(`${file}.moved`))],
] as const) {
  rootTest(`inside the monitor: ${what} on the --json file kills the monitor (SIGSYS); the file is unchanged`, async (t) => {
    const { scene, file, before, monitorPid } = await eventsFileWithScan(t);
    const inside = injectCalls(monitorPid, [call(file)]);
    t.deepEqual(inside.ending, { kind: 'killed', during: 0, signal: 'SIGSYS' }, inside.output);
    t.not((await scene.daemon.exited).code, 0);
    t.is(fs.readFileSync(file, 'utf8'), before);
  });
}

/** The capture process's end of the channel: its one socket above the standard descriptors that is not a capture socket. */
function channelFdOf(ns: string, capturePid: number): number {
  const raw = new Set(rawSockets(ns).keys());
  const fds = fs
    .readdirSync(`/proc/${capturePid}/fd`)
    .map(Number)
    .filter((fd) => {
      if (fd <= 2) return false;
      const inode = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${capturePid}/fd/${fd}`))?.[1];
      return inode !== undefined && !raw.has(Number(inode));
    });
  if (fds.length !== 1) throw new Error(`capture process ${capturePid}: ${fds.length} candidates for its channel`);
  return fds[0] as number;
}

rootTest(
  'inside the capture process: 300 loss records written to the channel make five syslog lines and one that says how many were merged, within the report window (--log-delay 2)',
  async (t) => {
    const scene = await startScene(t, ['--log-delay', '2']);
    const { capturePid, monitorPid } = await scene.daemon.ready();
    const channel = channelFdOf(scene.bed.target, capturePid);
    // A hundred records per write keeps each within the injector's 4 KiB of arguments.
    const hundred = Buffer.concat(Array.from({ length: 100 }, () => encode({ type: 'loss', count: 3, time: 0 })));
    const before = scene.syslog.messages().length;
    const inside = refusedInside(
      t,
      capturePid,
      [0, 1, 2].map(() => syscall('write', channel, hundred, hundred.length)),
    );
    t.deepEqual(
      inside.results.map((r) => r.value),
      [hundred.length, hundred.length, hundred.length],
      inside.output,
    );
    const loss = 'capture process dropped 3 packets while the monitor was not reading';
    const merged =
      '295 more loss, counters and SIGHUP reports from the capture process merged (at most 5 lines in 2 s): 885 packets dropped while the monitor was not reading';
    await waitFor('the merged line', () => (scene.syslog.messages().includes(merged) ? true : undefined), 6000);
    await sleep(3000);
    t.deepEqual(scene.syslog.messages().slice(before), [...Array<string>(5).fill(loss), merged]);
    t.true(isAlive(capturePid) && isAlive(monitorPid));
    await scanIsLogged(scene);
  },
);

rootTest(
  'inside the capture process: 12 SIGURGs to the monitor (its SIGHUP relay), a tenth of a second apart, make five SIGHUP lines and one that says how many were merged (--log-delay 10)',
  async (t) => {
    const scene = await startScene(t, ['--log-delay', '10']);
    const { capturePid, monitorPid } = await scene.daemon.ready();
    await waitFor('the start line', () => (scene.syslog.notices.length >= 1 ? true : undefined));
    const SIGURG = 23;
    for (let i = 0; i < 12; i++) {
      // One signal per injection, apart, so that none coalesces with a pending one.
      t.is(refusedInside(t, capturePid, [syscall('kill', monitorPid, SIGURG)]).results[0]?.value, 0);
      await sleep(100);
    }
    const merged =
      '7 more loss, counters and SIGHUP reports from the capture process merged (at most 5 lines in 10 s): 0 packets dropped while the monitor was not reading';
    await waitFor('the merged line', () => (scene.syslog.messages().includes(merged) ? true : undefined), 15000);
    t.is(scene.syslog.notices.filter((n) => n.includes('SIGHUP: ')).length, 5, scene.syslog.notices.join('\n'));
    t.true(isAlive(capturePid) && isAlive(monitorPid));
  },
);

/** A directory of the scanlogd user's beside the pidfile's, holding a file that user may remove. */
function victimBeside(t: ExecutionContext, pidfile: string): { dir: string; victim: string } {
  const { uid, gid } = userIds('scanlogd');
  const dir = fs.mkdtempSync(path.join(path.dirname(path.dirname(pidfile)), 'victim-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.chownSync(dir, uid, gid);
  const victim = path.join(dir, 'victim');
  fs.writeFileSync(victim, 'x');
  return { dir, victim };
}

for (const call of ['unlinkat', 'unlink'] as const) {
  rootTest(
    `inside the monitor, ${call} of a file in the pidfile's own directory kills it (SIGSYS): the monitor removes nothing`,
    async (t) => {
      const pidfile = makePidfilePath(t);
      const scene = await startScene(t, ['--pidfile', pidfile]);
      const { monitorPid } = await scene.daemon.ready();
      // The scanlogd user may remove it: only the sandbox keeps it.
      const victim = path.join(path.dirname(pidfile), 'victim');
      fs.writeFileSync(victim, 'x');
      const inside = injectCalls(monitorPid, [
        call === 'unlinkat' ? syscall('unlinkat', AT_FDCWD, cString(victim), 0) : syscall('unlink', cString(victim)),
      ]);
      t.deepEqual(inside.ending, { kind: 'killed', during: 0, signal: 'SIGSYS' }, inside.output);
      t.true(fs.existsSync(victim));
      t.not((await scene.daemon.exited).code, 0);
      // The capture process removed the pidfile as it ended.
      t.false(fs.existsSync(pidfile));
    },
  );
}

rootTest(
  "inside the capture process: no removal but the pidfile's; another directory (EPERM), a way out of the pidfile's (Landlock, EACCES), a directory in it (EPERM)",
  async (t) => {
    const pidfile = makePidfilePath(t);
    const scene = await startScene(t, ['--pidfile', pidfile]);
    const { capturePid, monitorPid } = await scene.daemon.ready();
    const runDir = path.dirname(pidfile);
    const dirFd = Number(fs.readdirSync(`/proc/${capturePid}/fd`).find((fd) => fs.readlinkSync(`/proc/${capturePid}/fd/${fd}`) === runDir));
    t.true(dirFd > 2, `the capture process holds ${runDir} open`);
    const { dir, victim } = victimBeside(t, pidfile);
    const sub = path.join(runDir, 'sub');
    fs.mkdirSync(sub);
    fs.chownSync(sub, userIds('scanlogd').uid, userIds('scanlogd').gid);
    const { results, output } = refusedInside(t, capturePid, [
      syscall('unlinkat', AT_FDCWD, cString(victim), 0),
      syscall('unlink', cString(victim)),
      syscall('unlinkat', dirFd, cString(`../${path.basename(dir)}/victim`), 0),
      syscall('unlinkat', dirFd, cString('sub'), AT_REMOVEDIR),
    ]);
    t.deepEqual(
      results.map((r) => r.errno),
      ['EPERM', 'EPERM', 'EACCES', 'EPERM'],
      output,
    );
    t.true(fs.existsSync(victim) && fs.existsSync(sub) && fs.existsSync(pidfile));
    t.true(isAlive(capturePid) && isAlive(monitorPid));
    await scanIsLogged(scene);
    process.kill(capturePid, 'SIGTERM');
    t.is((await scene.daemon.exited).code, 0);
    t.false(fs.existsSync(pidfile));
  },
);

rootTest('a process of the scanlogd user cannot read the memory of either half (/proc/PID/mem refused)', async (t) => {
  const { daemon } = await startScene(t);
  const { capturePid, monitorPid } = await daemon.ready();
  for (const pid of [capturePid, monitorPid]) {
    const r = childProcess.spawnSync(
      'setpriv',
      ['--reuid=scanlogd', '--regid=scanlogd', '--clear-groups', '/usr/bin/python3', '-c', `open("/proc/${pid}/mem", "rb")`],
      { encoding: 'utf8' },
    );
    t.not(r.status, 0, `pid ${pid}: ${r.stderr}`);
    t.regex(r.stderr, /PermissionError/, `pid ${pid}`);
  }
});

const killedBy: Array<{ attacker: 'capture process' | 'monitor'; what: string; call: (target: number) => Syscall }> = [
  { attacker: 'capture process', what: 'ptrace of the monitor', call: (target) => syscall('ptrace', PTRACE_SEIZE, target, 0, 0) },
  { attacker: 'capture process', what: 'setuid(0)', call: () => syscall('setuid', 0) },
  { attacker: 'monitor', what: 'ptrace of the capture process', call: (target) => syscall('ptrace', PTRACE_SEIZE, target, 0, 0) },
  { attacker: 'monitor', what: 'execve of a shell', call: () => syscall('execve', cString('/bin/sh'), 0, 0) },
];

for (const { attacker, what, call } of killedBy) {
  rootTest(`inside the ${attacker}, ${what} kills it (SIGSYS); the other half exits non-zero within a second, saying so`, async (t) => {
    const { daemon } = await startScene(t);
    const { capturePid, monitorPid } = await daemon.ready();
    const [from, to] = attacker === 'monitor' ? [monitorPid, capturePid] : [capturePid, monitorPid];
    const inside = injectCalls(from, [call(to)]);
    t.deepEqual(inside.ending, { kind: 'killed', during: 0, signal: 'SIGSYS' }, inside.output);
    // The injector returns once the process is gone: the other half has a second from here.
    t.false(isAlive(from));
    const other = attacker === 'monitor' ? capturePid : monitorPid;
    await waitFor(`the other half (${other}) to exit`, () => (isAlive(other) ? undefined : true), 1000, 5);
    const { code, signal } = await daemon.exited;
    if (attacker === 'monitor') {
      t.is(code, 1);
      t.regex(
        daemon.stderr(),
        /scanlogd capture: monitor \(pid \d+\) was killed by SIGSYS \(its seccomp filter: a system call outside its allowlist\)/,
      );
    } else {
      t.is(signal, 'SIGSYS');
      t.regex(daemon.stderr(), /scanlogd monitor: capture process closed the channel/);
    }
  });
}

const uvMakesRings = ((): boolean => {
  const [major, minor] = process.versions.uv.split('.').map(Number) as [number, number];
  return major > 1 || minor >= 49;
})();

for (const [label, extra] of [
  ['', {}],
  [', even with UV_USE_IO_URING=1', { UV_USE_IO_URING: '1' }],
] as const) {
  rootTest(
    `no io_uring in either half on Node.js ${process.version} (libuv ${process.versions.uv}${uvMakesRings ? ', which makes one for every loop' : ''})${label}`,
    async (t) => {
      const bed = createTestbed();
      const dir = makeSocketDir();
      const syslog = listenSyslog(path.join(dir, 'log'));
      const daemon = startOurs(bed, ['--foreground', '--syslog-socket', syslog.path], { env: { ...process.env, ...extra } });
      t.teardown(async () => {
        await daemon.kill();
        syslog.close();
        bed.destroy();
        fs.rmSync(dir, { recursive: true, force: true });
      });
      const { capturePid, monitorPid } = await daemon.ready();
      for (const pid of [capturePid, monitorPid]) {
        t.deepEqual(ioUringFds(pid), [], `pid ${pid}`);
        for (const task of fs.readdirSync(`/proc/${pid}/task`)) t.is(statusField(pid, task, 'Seccomp'), '2');
      }
      t.true(
        await daemon.said(new RegExp(`^scanlogd capture: scanlogd-ts \\S+ \\(Node\\.js ${process.version.replace(/\./g, '\\.')}\\)$`, 'm')),
        daemon.stderr(),
      );
      await scanIsLogged({ bed, syslog });
    },
  );
}

rootTest('the capture process started with the restart marker but without the start filter refuses to start', async (t) => {
  const dir = makeSocketDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const daemon = startOurs(null, ['--foreground', '--syslog-socket', path.join(dir, 'log')], {
    env: { ...process.env, SCANLOGD_RESTARTED: '1' },
  });
  const { code } = await daemon.exited;
  t.is(code, 1);
  t.regex(daemon.stderr(), /^scanlogd: capture process: not under the start filter \(io_uring_setup answers EFAULT, listen EBADF\)$/m);
});

rootTest(
  `SIGUSR1 storm on the monitor while it starts: Node's inspector never listens (${
    runtimeHas(NO_SIGNAL_INSPECTOR) ? `${NO_SIGNAL_INSPECTOR} on ${process.version}` : `listen(2) refused on ${process.version}`
  })`,
  async (t) => {
    const bed = createTestbed();
    const dir = makeSocketDir();
    const syslog = listenSyslog(path.join(dir, 'log'));
    const daemon = startOurs(bed, ['--foreground', '--syslog-socket', syslog.path]);
    t.teardown(async () => {
      await daemon.kill();
      syslog.close();
      bed.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    // From the moment Node's own SIGUSR1 handler exists in the monitor (SigCgt bit 10)
    // until the monitor names itself, set up: every signal in between asks Node to open
    // its inspector on 127.0.0.1:9229. A synchronous loop, not to miss the window.
    let sent = 0;
    let monitorCommand = '';
    const pause = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
      const monitor = daemon.monitorPid();
      if (monitor === undefined) continue;
      const command = commandLine(monitor) ?? '';
      if (command === 'scanlogd-monitor') break;
      // Between fork and exec the child is still a copy of the capture process.
      if (!command.includes('--role monitor')) continue;
      monitorCommand = command;
      let caught: bigint;
      try {
        caught = BigInt(`0x${/^SigCgt:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${monitor}/status`, 'utf8'))?.[1] ?? '0'}`);
      } catch {
        continue; // not started yet, or between fork and exec
      }
      if ((caught & (1n << BigInt(SIGUSR1 - 1))) === 0n) continue;
      process.kill(monitor, 'SIGUSR1');
      sent += 1;
      Atomics.wait(pause, 0, 0, 2); // a signal every 2 ms lets the monitor's start-up go on
    }
    await daemon.ready();
    t.true(sent > 0, 'no signal reached the window');
    if (runtimeHas(NO_SIGNAL_INSPECTOR)) {
      // Node 22.14 and later, 24: no signal starts the inspector at all; from the first
      // handler on, each is the counters request.
      t.true(monitorCommand.split(' ').includes(NO_SIGNAL_INSPECTOR), monitorCommand);
      await sleep(300);
      t.notRegex(daemon.stderr(), /inspector|Debugger/i);
    } else {
      // Node 20: the inspector is asked to open, and listen(2) is refused. Node tries to
      // start it when its main thread gets to it, which on a busy machine can be a while
      // after the last signal.
      const refusal = 'Starting inspector on 127.0.0.1:9229 failed: operation not permitted';
      const refused = await waitFor('the refusal', () => (daemon.stderr().split('\n').includes(refusal) ? true : undefined), 5000).catch(
        () => false,
      );
      t.true(refused, `${sent} signals sent, none reached Node's inspector:\n${daemon.stderr()}`);
    }
    const listeners = await runIn(bed.target, 'ss', ['-Hltn']);
    t.is(listeners.stdout.trim(), '', "nothing listens on TCP in the daemon's namespace");
    await scanIsLogged({ bed, syslog });
  },
);
