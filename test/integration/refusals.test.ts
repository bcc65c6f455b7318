// What each half's sandbox refuses, call by call: one row per call, made from inside the
// running half's main thread by the project's injector (harness/inject.ts), with the
// answer SECURITY.md states for it (an errno, or death by SIGSYS). Calls refused with an
// errno are made together in one running daemon, which must run on; each call that
// kills gets a daemon of its own.

import test, { type ExecutionContext } from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { isRoot, waitFor } from '../../harness/netns.js';
import { scanIsLogged, startScene } from '../../harness/testbed-daemon.js';
import { isAlive } from '../../harness/daemon.js';
import { captureSocketFds, descriptorOf, descriptorsOf } from '../../harness/proc.js';
import { cString, injectCalls, syscall, type Injection, type Syscall } from '../../harness/inject.js';
import { underStartFilter } from '../../harness/startfilter.js';

const haveCompiler = fs.existsSync('/usr/bin/gcc');
const rootTest = isRoot && haveCompiler ? test.serial : test.serial.skip;
if (!isRoot || !haveCompiler) console.log('refusal tests skipped: they need root and gcc (for the injector)');
const x64 = process.arch === 'x64';

const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const O_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;
const [F_DUPFD, F_DUPFD_CLOEXEC] = [0, 1030];
const [PR_SET_DUMPABLE, TIOCSTI, STATX_BASIC_STATS] = [4, 0x5412, 0x7ff];
const [SOL_SOCKET, SO_TYPE, SHUT_RDWR] = [1, 3, 2];
const RLIMIT_NOFILE = 7;
const MREMAP_MAYMOVE = 1;
/** CLONE_SIGHAND without CLONE_VM: a clone without CLONE_THREAD that the kernel itself refuses (EINVAL), so that a filter letting it through could not fork the half under test. */
const CLONE_NEW_PROCESS = 0x800 | 17;
/** getpid's number in the x32 ABI: bit 30 set (x86_64 only). */
const X32_GETPID = 0x40000000 | 39;

/** A struct sockaddr_in for `address`, port 0. */
function sockaddrIn(address: string): Buffer {
  return Buffer.from([2, 0, 0, 0, ...address.split('.').map(Number), 0, 0, 0, 0, 0, 0, 0, 0]);
}

/** One struct iovec pointing nowhere: a call the filter let through would fail in the kernel, never send. */
const BAD_IOVEC = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0]);

interface Halves {
  /** The half the call is made in, and the other one. */
  self: number;
  other: number;
  /** The capture process's capture sockets (raw or packet). */
  captureFds: number[];
  /** The monitor's syslog socket. */
  syslogFd: number;
  scannerAddr: string;
}

type Half = 'capture process' | 'monitor';

interface Row {
  in: Half[];
  what: string;
  /** An errno's name, 'returns N', or 'SIGSYS'. */
  expect: string;
  calls: (h: Halves) => Syscall[];
}

const BOTH: Half[] = ['capture process', 'monitor'];

const refused: Row[] = [
  {
    in: BOTH,
    what: 'dumpable again: prctl(PR_SET_DUMPABLE, 1)',
    expect: 'EPERM',
    calls: () => [syscall('prctl', PR_SET_DUMPABLE, 1, 0, 0, 0)],
  },
  { in: BOTH, what: 'a copy of a descriptor: dup', expect: 'EPERM', calls: () => [syscall('dup', 2)] },
  { in: BOTH, what: 'a copy of a descriptor: dup3', expect: 'EPERM', calls: () => [syscall('dup3', 2, 200, O_CLOEXEC)] },
  {
    in: BOTH,
    what: 'a copy of a descriptor: fcntl(F_DUPFD), fcntl(F_DUPFD_CLOEXEC)',
    expect: 'EPERM',
    calls: () => [syscall('fcntl', 2, F_DUPFD, 0), syscall('fcntl', 2, F_DUPFD_CLOEXEC, 0)],
  },
  {
    in: BOTH,
    what: 'a path looked up: newfstatat and statx without AT_EMPTY_PATH, readlinkat',
    expect: 'EPERM',
    calls: () => [
      syscall('newfstatat', AT_FDCWD, cString('/etc/passwd'), Buffer.alloc(256), 0),
      syscall('statx', AT_FDCWD, cString('/etc/passwd'), 0, STATX_BASIC_STATS, Buffer.alloc(256)),
      syscall('readlinkat', AT_FDCWD, cString('/proc/self/exe'), Buffer.alloc(64), 64),
      ...(x64 ? [syscall('readlink', cString('/proc/self/exe'), Buffer.alloc(64), 64)] : []),
    ],
  },
  {
    in: BOTH,
    what: "a thread of the other half: tgkill(other's pid, ...)",
    expect: 'EPERM',
    calls: (h) => [syscall('tgkill', h.other, h.other, 0)],
  },
  // The filter reads the thread group only; the kernel refuses a thread outside it.
  { in: BOTH, what: 'tgkill(own pid, a thread of the other half)', expect: 'ESRCH', calls: (h) => [syscall('tgkill', h.self, h.other, 0)] },
  {
    in: BOTH,
    what: 'its own resource limits: prlimit64(0, ...)',
    expect: 'EPERM',
    calls: () => [syscall('prlimit64', 0, RLIMIT_NOFILE, 0, Buffer.alloc(16))],
  },
  { in: BOTH, what: 'mremap', expect: 'EPERM', calls: () => [syscall('mremap', 0, 4096, 8192, MREMAP_MAYMOVE, 0)] },
  { in: BOTH, what: 'io_uring_setup', expect: 'ENOSYS', calls: () => [syscall('io_uring_setup', 1, Buffer.alloc(120))] },
  {
    in: BOTH,
    what: 'a character pushed into a terminal: ioctl(TIOCSTI)',
    expect: 'EPERM',
    calls: () => [syscall('ioctl', 2, TIOCSTI, Buffer.from('x'))],
  },
  {
    in: ['monitor'],
    what: 'a new process: clone without CLONE_THREAD',
    expect: 'EPERM',
    calls: () => [syscall('clone', CLONE_NEW_PROCESS, 0, 0, 0, 0)],
  },
  // glibc falls back to clone, whose flags the filter can read.
  { in: ['monitor'], what: 'clone3', expect: 'ENOSYS', calls: () => [syscall('clone3', 0, 0)] },
  {
    in: ['monitor'],
    what: 'sendmmsg on the channel and on the syslog socket',
    expect: 'EPERM',
    calls: (h) => [syscall('sendmmsg', 3, Buffer.alloc(64), 1, 0), syscall('sendmmsg', h.syslogFd, Buffer.alloc(64), 1, 0)],
  },
  // Stated as a known limit: the flag is required, and the kernel still looks the path up.
  {
    in: ['monitor'],
    what: "a path's metadata with AT_EMPTY_PATH: newfstatat('/etc/passwd')",
    expect: 'returns 0',
    calls: () => [syscall('newfstatat', AT_FDCWD, cString('/etc/passwd'), Buffer.alloc(256), AT_EMPTY_PATH)],
  },
  {
    in: ['capture process'],
    what: 'writev, sendmsg and sendmmsg on each capture socket',
    expect: 'EPERM',
    calls: (h) =>
      h.captureFds.flatMap((fd) => [
        syscall('writev', fd, BAD_IOVEC, 1),
        syscall('sendmsg', fd, Buffer.alloc(56), 0),
        syscall('sendmmsg', fd, Buffer.alloc(64), 1, 0),
      ]),
  },
  {
    in: ['capture process'],
    what: 'bind and connect on each capture socket',
    expect: 'EPERM',
    calls: (h) =>
      h.captureFds.flatMap((fd) => [syscall('bind', fd, sockaddrIn('0.0.0.0'), 16), syscall('connect', fd, sockaddrIn(h.scannerAddr), 16)]),
  },
  // The kernel takes a descriptor as an int: fd + 2^32 is fd to it, and the filter
  // compares the same low 32 bits. The control row below shows the truncation.
  {
    in: ['capture process'],
    what: 'write on each capture socket named as fd + 2^32',
    expect: 'EPERM',
    calls: (h) => h.captureFds.map((fd) => syscall('write', fd + 2 ** 32, Buffer.alloc(20, 'x'), 20)),
  },
  {
    in: ['capture process'],
    what: 'control: write on stderr named as 2 + 2^32 reaches stderr',
    expect: 'returns 27',
    calls: () => [syscall('write', 2 + 2 ** 32, Buffer.from('refusals: 2 + 2^32 is fd 2\n'), 27)],
  },
];

const fatal: Row[] = [
  {
    in: ['capture process'],
    what: 'a new process: clone',
    expect: 'SIGSYS',
    calls: () => [syscall('clone', CLONE_NEW_PROCESS, 0, 0, 0, 0)],
  },
  { in: ['capture process'], what: 'clone3', expect: 'SIGSYS', calls: () => [syscall('clone3', 0, 0)] },
  { in: ['capture process'], what: 'execve', expect: 'SIGSYS', calls: () => [syscall('execve', cString('/bin/true'), 0, 0)] },
  {
    in: ['monitor'],
    what: 'getsockopt',
    expect: 'SIGSYS',
    calls: () => [syscall('getsockopt', 3, SOL_SOCKET, SO_TYPE, Buffer.alloc(4), Buffer.from([4, 0, 0, 0]))],
  },
  { in: ['monitor'], what: 'shutdown', expect: 'SIGSYS', calls: () => [syscall('shutdown', -1, SHUT_RDWR)] },
  ...(x64
    ? ([
        { in: ['monitor'], what: 'poll', expect: 'SIGSYS', calls: () => [syscall('poll', 0, 0, 0)] },
        { in: BOTH, what: 'an x32 system call (getpid)', expect: 'SIGSYS', calls: () => [syscall(`nr:${X32_GETPID}`)] },
      ] satisfies Row[])
    : []),
];

/** What became of each call, as the rows state it. */
function outcomes(inside: Injection): string[] {
  const made = inside.results.map((r) => (r.errno === null ? `returns ${r.value}` : r.errno));
  if (inside.ending.kind === 'killed') made.push(inside.ending.signal);
  return made;
}

const describe = (c: Syscall): string =>
  `${c.name}(${c.args.map((a) => (typeof a === 'number' ? String(a) : Buffer.isBuffer(a) ? `<${a.length} bytes>` : `<passing ${a.rights}>`)).join(', ')})`;

/** The monitor's syslog socket: its one Unix datagram socket (the channel is a stream pair). */
function monitorSyslogFd(monitorPid: number): number {
  const datagram = new Set(
    fs
      .readFileSync(`/proc/${monitorPid}/net/unix`, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((row) => row.trim().split(/\s+/))
      .filter((f) => f[4] === '0002')
      .map((f) => `socket:[${f[6] ?? ''}]`),
  );
  const found = [...descriptorsOf(monitorPid)].filter(([, target]) => datagram.has(target));
  if (found.length !== 1) throw new Error(`the monitor holds ${found.length} Unix datagram sockets`);
  return (found[0] as [number, string])[0];
}

async function halvesOf(
  t: ExecutionContext,
  extra: readonly string[] | ((dev: string) => string[]) = [],
): Promise<{ capture: Halves; monitor: Halves }> {
  const scene = await startScene(t, (bed) => (typeof extra === 'function' ? extra(bed.targetDev) : [...extra]));
  const { capturePid, monitorPid } = await scene.daemon.ready();
  const shared = { captureFds: captureSocketFds(capturePid), syslogFd: monitorSyslogFd(monitorPid), scannerAddr: scene.bed.scannerAddr };
  return { capture: { ...shared, self: capturePid, other: monitorPid }, monitor: { ...shared, self: monitorPid, other: capturePid } };
}

for (const [half, backend, args] of [
  ['capture process', 'raw sockets with --ipv6 --udp', ['--ipv6', '--udp']],
  ['capture process', 'libpcap', (dev: string) => ['--interface', dev]],
  ['monitor', 'raw socket', []],
] as const) {
  const rows = refused.filter((row) => (row.in as readonly string[]).includes(half));
  rootTest(`inside the ${half} (${backend}): ${rows.length} kinds of call refused as the table states; it runs on`, async (t) => {
    const halves = await halvesOf(t, args);
    const h = halves[half === 'monitor' ? 'monitor' : 'capture'];
    t.is(h.captureFds.length, backend === 'libpcap' ? 1 : backend === 'raw socket' ? 1 : 4);
    const calls = rows.map((row) => row.calls(h));
    const inside = injectCalls(h.self, calls.flat());
    t.deepEqual(inside.ending, { kind: 'detached' }, inside.output);
    const got = outcomes(inside);
    let at = 0;
    const lines = (pick: (row: Row, call: Syscall, i: number) => string): string[] =>
      rows.flatMap((row, r) => (calls[r] as Syscall[]).map((call) => pick(row, call, at++)));
    const expected = lines((row, call) => `${row.what}: ${describe(call)}: ${row.expect}`);
    at = 0;
    const actual = lines((row, call, i) => `${row.what}: ${describe(call)}: ${got[i] ?? 'not made'}`);
    t.deepEqual(actual, expected, inside.output);
    t.true(isAlive(h.self) && isAlive(h.other));
  });
}

for (const row of fatal) {
  for (const half of row.in) {
    rootTest(`inside the ${half}, ${row.what} kills it (SIGSYS)`, async (t) => {
      const halves = await halvesOf(t);
      const h = halves[half === 'monitor' ? 'monitor' : 'capture'];
      const calls = row.calls(h);
      const inside = injectCalls(h.self, calls);
      t.deepEqual(outcomes(inside), [row.expect], inside.output);
      t.false(isAlive(h.self));
      await waitFor(`the other half (${h.other}) to exit`, () => (isAlive(h.other) ? undefined : true), 2000, 5);
    });
  }
}

(x64 ? rootTest : test.serial.skip)('the start filter kills an x32 system call, though it lets every other call through', async (t) => {
  // The child runs from a fresh image under the start filter, as the daemon's halves do.
  const script = `process.stdout.write('filtered\\n'); setInterval(() => {}, 1000);`;
  const node = childProcess.spawn(process.execPath, underStartFilter(['-e', script]), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  node.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const ended = new Promise<string | null>((resolve) => node.on('exit', (_code, signal) => resolve(signal)));
  t.teardown(() => node.kill('SIGKILL'));
  await waitFor('the filter to be in place', () => (out.includes('filtered') ? true : undefined), 10000);
  const inside = injectCalls(node.pid as number, [syscall('getpid'), syscall(`nr:${X32_GETPID}`)]);
  t.deepEqual(outcomes(inside), [`returns ${String(node.pid)}`, 'SIGSYS'], inside.output);
  t.is(await ended, 'SIGSYS');
});

rootTest(
  "a descriptor inherited without close-on-exec reaches neither half; the monitor's syslog socket is close-on-exec and non-blocking",
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'refusals-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const marker = path.join(dir, 'inherited');
    fs.writeFileSync(marker, 'x');
    // The shell opens descriptor 7 without close-on-exec and execs the daemon with it.
    const scene = await startScene(t, [], { wrap: ['sh', '-c', `exec 7<'${marker}'; exec "$@"`, 'sh'] });
    const { capturePid, monitorPid } = await scene.daemon.ready();
    for (const pid of [capturePid, monitorPid]) {
      const held = [...descriptorsOf(pid)].filter(([, target]) => target === marker);
      t.deepEqual(held, [], `pid ${pid}`);
    }
    const syslog = descriptorOf(monitorPid, monitorSyslogFd(monitorPid));
    t.regex(syslog.target, /^socket:/);
    t.not(syslog.flags & O_CLOEXEC, 0, `syslog socket flags ${syslog.flags.toString(8)} lack O_CLOEXEC`);
    t.not(syslog.flags & O_NONBLOCK, 0, `syslog socket flags ${syslog.flags.toString(8)} lack O_NONBLOCK`);
  },
);

rootTest(
  'bytes the monitor writes on the channel: the capture process stops taking them at a bound, parses none, and runs on',
  async (t) => {
    const scene = await startScene(t);
    const { capturePid, monitorPid } = await scene.daemon.ready();
    t.not(descriptorOf(monitorPid, 3).flags & O_NONBLOCK, 0, 'the channel is non-blocking in the monitor');
    // 100 writes of 4000 bytes: more than the kernel's socket buffers and Node's read
    // buffer hold together, so the writes end in EAGAIN unless the capture process
    // consumes whatever comes.
    const WRITES = 100;
    const chunk = Buffer.alloc(4000, 'm');
    const inside = injectCalls(
      monitorPid,
      Array.from({ length: WRITES }, () => syscall('write', 3, chunk, chunk.length)),
    );
    t.deepEqual(inside.ending, { kind: 'detached' }, inside.output);
    const accepted = inside.results.reduce((sum, r) => sum + Math.max(r.value, 0), 0);
    t.log(`the channel took ${accepted} of ${WRITES * chunk.length} bytes`);
    t.is(inside.results.at(-1)?.errno, 'EAGAIN', inside.output);
    t.true(accepted < WRITES * chunk.length);
    t.true(isAlive(capturePid) && isAlive(monitorPid));
    await scanIsLogged(scene);
    t.false(/scanlogd capture: .*(fault|channel)/.test(scene.daemon.stderr()), scene.daemon.stderr());
  },
);
