// The kernel sandboxes both halves put themselves in once they are set up: a seccomp
// allowlist (every thread; compiled by libseccomp, native/sandbox.c) and, where the
// kernel offers it, Landlock.
// The policies are data (src/capture/sandbox.ts, src/monitor/sandbox.ts) built on the
// common part here; anything no rule names kills the process, as OpenSSH's children
// are killed.

import os = require('node:os');
import { StartupError, messageOf } from './errors.js';
import { refuseIoUring } from './fds.js';
import { filterRules } from './filter.js';
import { loadProcCtl } from './procctl.js';
import type { ProcCtl, SeccompRule } from '../types/procctl.js';

/** seccomp return values (linux/seccomp.h). */
export const Action = {
  allow: 0x7fff0000,
  killProcess: 0x80000000,
  errno: (errno: number): number => 0x00050000 | errno,
} as const;

const { EPERM, ENOSYS } = os.constants.errno;
export const DENY = Action.errno(EPERM);
/** For calls with an older fallback the C library or libuv takes when told "no such call". */
export const ABSENT = Action.errno(ENOSYS);

/** Each of `names` allowed whatever its arguments. */
export const allow = (...names: string[]): SeccompRule[] => names.map((syscall) => ({ syscall, clauses: [], otherwise: Action.allow }));
/** Each of `names` refused with EPERM. */
export const deny = (...names: string[]): SeccompRule[] => names.map((syscall) => ({ syscall, clauses: [], otherwise: DENY }));

/** Allowed when argument `arg` is one of `values`, refused with EPERM otherwise. */
export function allowIf(syscall: string, arg: number, values: readonly number[]): SeccompRule {
  return { syscall, clauses: [{ when: [{ arg, values: [...values] }], action: Action.allow }], otherwise: DENY };
}

/** Refused with EPERM when argument `arg` is one of `values`, allowed otherwise. */
export function denyIf(syscall: string, arg: number, values: readonly number[]): SeccompRule {
  return { syscall, clauses: [{ when: [{ arg, values: [...values] }], action: DENY }], otherwise: Action.allow };
}

/** Allowed when argument `arg` has every bit of `bits` set, refused with EPERM otherwise. */
function allowIfBits(syscall: string, arg: number, bits: number): SeccompRule {
  return { syscall, clauses: [{ when: [{ arg, mask: bits, values: [bits] }], action: Action.allow }], otherwise: DENY };
}

// Constants the kernel defines and Node does not export.
const CLONE_THREAD = 0x10000;
const AT_EMPTY_PATH = 0x1000;
const F = { GETFL: 3, SETFL: 4 };
const IOCTL = { TCGETS: 0x5401, TIOCGWINSZ: 0x5413, FIONBIO: 0x5421 };
const PR = { GET_DUMPABLE: 3, SET_NAME: 15, GET_SECCOMP: 21, GET_NO_NEW_PRIVS: 39 };
export const SIG = { none: 0, SIGKILL: 9, SIGTERM: 15 };

/** The io_uring calls, answered "no such call". */
const ioUringAbsent = (): SeccompRule[] =>
  ['io_uring_setup', 'io_uring_enter', 'io_uring_register'].map((syscall) => ({ syscall, clauses: [], otherwise: ABSENT }));

/**
 * What either half of a running Node process needs once its own filter is in place,
 * roughly in the order of how often it is called. `npm run bench:trace` (bench/trace.ts)
 * counts, on the Node.js that runs it, each call a half makes after its filter, rule by
 * rule; "seen" below says on which lines it saw a call (Node.js 20.20.2, 22.23.5 and
 * 24.22.3 on Debian 12). A rule no trace reaches names the path that needs it.
 * `appendOnlyFds` keep O_APPEND (fileFlags).
 */
export function nodeRuntime(pid: number, appendOnlyFds: readonly number[]): SeccompRule[] {
  return [
    // The event loop and V8's threads (seen on every line).
    ...allow('futex', 'epoll_pwait', 'epoll_ctl', 'read', 'write', 'close', 'getpid'),
    // V8's workers yield (seen on 20) and sleep (seen on 24, both halves, in the test
    // suite under floods) between tries; glibc's nanosleep is clock_nanosleep.
    ...allow('sched_yield', 'clock_nanosleep'),
    // Node writes queued chunks in one call once a descriptor is writable again (seen
    // on 20, the capture process after its monitor was stopped and continued).
    ...allow('writev'),
    // The vDSO answers these in user space; they reach the kernel only where the clock
    // source cannot be read from there (some virtual machines).
    ...allow('clock_gettime', 'clock_getres', 'gettimeofday', 'time'),
    // Memory, the JIT's executable pages included (seen on every line).
    ...allow('mmap', 'munmap', 'mprotect', 'madvise', 'brk'),
    // Intel CPUs with memory protection keys (not the AMD machine the traces ran on):
    // V8 takes a key at start, marks its code pages with it and frees it at exit.
    ...allow('pkey_alloc', 'pkey_free', 'pkey_mprotect'),
    // Signals: the masks libuv and V8 set, the return from a handler, handlers set after
    // the filter (the capture process's SIGTERM, SIGINT and SIGHUP; seen on every line)
    // and reset when Node ends without process.exit (seen in a plain process).
    ...allow('rt_sigprocmask', 'rt_sigreturn', 'rt_sigaction', 'exit', 'exit_group'),
    // A half stopped (SIGSTOP) in a timed wait resumes through it after SIGCONT.
    ...allow('restart_syscall'),
    // abort() raises SIGABRT on itself: a V8 fatal error ends the half with SIGABRT and
    // its core, not with SIGSYS. Its own threads only.
    allowIf('tgkill', 0, [pid]),
    // glibc's pthread_getattr_np reads a thread's scheduling parameters and CPU mask the
    // first time it looks at the thread, and its id: V8's workers do when they first
    // take part in compiling or garbage collection, which can be after the filter (seen
    // on 24; gettid before the filter on every line).
    ...allow('sched_getparam', 'sched_getscheduler', 'sched_getaffinity', 'gettid'),
    // Node's fstat (seen on every line, as fstat); glibc 2.33 and later may make it
    // newfstatat(fd, "", AT_EMPTY_PATH), and libuv's statx with AT_EMPTY_PATH. The flag
    // is required, but the kernel still looks up a path that is not empty: the metadata
    // (never the contents) of a path the user may reach can be read this way; seccomp
    // cannot see the path.
    ...allow('fstat'),
    allowIfBits('newfstatat', 3, AT_EMPTY_PATH),
    allowIfBits('statx', 2, AT_EMPTY_PATH),
    fileFlags(appendOnlyFds),
    // FIONBIO (seen on every line); TCGETS and TIOCGWINSZ when stderr is a terminal
    // (npm start): Node reads the window size again on each SIGWINCH.
    allowIf('ioctl', 1, [IOCTL.FIONBIO, IOCTL.TCGETS, IOCTL.TIOCGWINSZ]),
    // The process title, and the state checks after the filter (seen on every line).
    allowIf('prctl', 0, [PR.SET_NAME, PR.GET_DUMPABLE, PR.GET_SECCOMP, PR.GET_NO_NEW_PRIVS]),
    // As the start filter answers them: a loop set up later (the inspector's on Node 20)
    // falls back to epoll.
    ...ioUringAbsent(),
    // That loop's own descriptors. On Node 20 a SIGUSR1 that arrives before a half's
    // listener asks Node to start its inspector, whose thread sets up a loop and aborts
    // the process if it cannot; refused, a signal storm at start stopped the monitor.
    // The inspector then fails at listen(2), refused by the start filter.
    ...allow('epoll_create1', 'eventfd2', 'pipe2'),
    // Refused, not fatal: harmless to refuse, and Node copes with the error. Opens and
    // path lookups (V8 on 22 and 24 reads /proc/sys/vm/overcommit_memory after the
    // filter, and goes on without it), copies of descriptors, sockets' options and
    // sending, waiting for children, resource limits (its own or the
    // other half's), and glibc realloc's mremap, which it falls back from with a copy.
    // sendmsg and sendmmsg are the calls that can carry descriptors (SCM_RIGHTS): with
    // them refused, neither half can hand one of its own to any process. Both send with
    // write(2) (the syslog socket, the channel).
    ...deny('open', 'openat', 'openat2', 'creat', 'stat', 'lstat', 'readlink', 'readlinkat', 'access', 'faccessat', 'faccessat2'),
    ...deny('dup', 'dup2', 'dup3', 'setsockopt', 'sendto', 'sendmsg', 'sendmmsg', 'bind', 'listen', 'socketpair', 'wait4', 'waitid'),
    ...deny('prlimit64', 'mremap'),
  ];
}

/**
 * Reading and setting a descriptor's status flags, O_NONBLOCK (seen on every line); no
 * F_DUPFD, so a descriptor keeps its number. On `appendOnlyFds` the flags may be read
 * only: F_SETFL could clear O_APPEND, and each write would then land at the descriptor's
 * offset instead of the file's end. No half can move that offset (lseek, pwrite and
 * ftruncate are in no policy and kill), so clearing it alone rewrites nothing; this rule
 * keeps the file append-only should either ever be allowed. seccomp tells descriptors
 * apart by number only, which holds here because no half can copy a descriptor to
 * another number (dup and F_DUPFD refused). The kernel reads fcntl's descriptor and
 * command as 32-bit integers, as the filter does.
 */
function fileFlags(appendOnlyFds: readonly number[]): SeccompRule {
  const keepFlags = appendOnlyFds.length === 0 ? [] : [{ when: [{ arg: 0, values: [...appendOnlyFds] }], action: DENY }];
  return {
    syscall: 'fcntl',
    clauses: [
      { when: [{ arg: 1, values: [F.GETFL] }], action: Action.allow },
      ...keepFlags,
      { when: [{ arg: 1, values: [F.SETFL] }], action: Action.allow },
    ],
    otherwise: DENY,
  };
}

/**
 * Threads started after the filter: the monitor's libuv pool starts on its first
 * --json write (seen on every line). glibc tries clone3 first and falls back to clone,
 * whose flags the filter can read: threads yes, new processes no.
 */
export function newThreads(): SeccompRule[] {
  return [
    allowIfBits('clone', 0, CLONE_THREAD),
    { syscall: 'clone3', clauses: [], otherwise: ABSENT },
    ...allow('set_robust_list', 'rseq'),
  ];
}

/**
 * The filter the capture process installs first of all, as root, before it starts
 * again from a fresh image (src/capture/restart.ts). The new image and the monitor it
 * spawns run under it from their first instruction. Everything else stays allowed
 * until each half installs its own filter.
 */
export function startRules(): SeccompRule[] {
  return [
    // libuv 1.49 and later (Node 22 and 24, and Debian 13's nodejs 20, which uses the
    // system's libuv 1.50) set up an io_uring for each event loop, to batch epoll_ctl,
    // whatever UV_USE_IO_URING says. Work submitted to a ring escapes seccomp and runs
    // with the credentials of the ring's creator. Told the call does not exist, libuv
    // falls back to plain epoll_ctl.
    ...ioUringAbsent(),
    // Node opens its inspector on a TCP port when a SIGUSR1 arrives before the process
    // has a handler of its own, and Node 20 has no --disable-sigusr1: with listen(2)
    // refused that port can never open. Neither half ever listens.
    ...deny('listen'),
  ];
}

/**
 * Installs `rules` as a seccomp filter in every thread; a call no rule names gets
 * `defaultAction`. Returns how many of the calls named this architecture has.
 */
export function installFilter(rules: readonly SeccompRule[], defaultAction: number, procctl: ProcCtl = loadProcCtl()): number {
  return procctl.seccomp(filterRules(rules), defaultAction);
}

/** Installs the start filter in every thread; no_new_privs first, as the systemd unit's bounding set lacks CAP_SYS_ADMIN. */
export function installStartFilter(procctl: ProcCtl = loadProcCtl()): void {
  try {
    procctl.noNewPrivs();
    installFilter(startRules(), Action.allow, procctl);
  } catch (err) {
    throw new StartupError(`capture process: start filter: ${messageOf(err)}`, { cause: err });
  }
}

/**
 * Checks, in a process that should run under the start filter, that it does: io_uring
 * is refused (ENOSYS from the start filter, or EPERM from one around the daemon, such
 * as the systemd unit's), listen(2) is refused with EPERM, and no ring was set up.
 */
export function confirmStartFilter(who: string, procctl: ProcCtl = loadProcCtl()): void {
  const ioUring = procctl.refusal('io_uring_setup');
  const listen = procctl.refusal('listen');
  if ((ioUring !== ENOSYS && ioUring !== EPERM) || listen !== EPERM) {
    throw new StartupError(
      `${who}: not under the start filter (io_uring_setup answers ${errnoName(ioUring)}, listen ${errnoName(listen)})`,
    );
  }
  refuseIoUring(who);
}

function errnoName(errno: number): string {
  return Object.entries(os.constants.errno).find(([, n]) => n === errno)?.[0] ?? String(errno);
}

export interface SandboxPlan {
  /** Names the process in errors and in the start-up line. */
  who: string;
  rules: SeccompRule[];
  /** Landlock: a descriptor of the one directory whose files the process may remove, or null. */
  removeFilesBelow: number | null;
  /** Landlock: refuse signals to processes outside this one (from ABI 6). */
  scopeSignals: boolean;
}

/** The layers now active, for the start-up line. */
export interface SandboxLayers {
  seccompRules: number;
  landlockAbi: number;
}

/**
 * Landlock first (its system calls are not in any allowlist), then the seccomp filter
 * on every thread. Call with no_new_privs set, after the last file was opened and the
 * last lazily loaded part of Node was touched, and before the first packet or record.
 */
export function enterSandbox(plan: SandboxPlan, procctl: ProcCtl = loadProcCtl()): SandboxLayers {
  try {
    const landlockAbi = procctl.landlock(plan.removeFilesBelow, plan.scopeSignals);
    const seccompRules = installFilter(plan.rules, Action.killProcess, procctl);
    if (procctl.state().seccomp !== 2) throw new Error('the kernel reports no seccomp filter');
    return { seccompRules, landlockAbi };
  } catch (err) {
    throw new StartupError(`${plan.who}: sandbox: ${messageOf(err)}`, { cause: err });
  }
}

export function describeLayers(layers: SandboxLayers): string {
  const landlock = layers.landlockAbi > 0 ? `Landlock ABI ${layers.landlockAbi}` : 'no Landlock (kernel without it)';
  return `sandbox: no_new_privs, not dumpable, seccomp allowlist (${layers.seccompRules} rules, other calls kill), ${landlock}`;
}

/**
 * Node opens some things the first time they are used: the standard streams, the
 * local time zone. Touching them here keeps those opens before the filter. Locale
 * formatting (Intl, toLocaleString) is not touched: nothing here uses it, and loading
 * ICU's locale data costs each process several MB of resident memory (`npm run bench`,
 * MEM); were it ever used, the filter refuses opens with an error, never a kill.
 */
export function warmUpNode(): void {
  void process.stdout.writable;
  void process.stderr.writable;
  new Date().toString();
}
