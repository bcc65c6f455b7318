// The kernel sandboxes both halves put themselves in once they are set up: a seccomp
// allowlist (every thread, native/sandbox.c) and, where the kernel offers it, Landlock.
// The policies are data (src/capture/sandbox.ts, src/monitor/sandbox.ts) built on the
// common part here; anything no rule names kills the process, as OpenSSH's children
// are killed.

import os = require('node:os');
import { StartupError, describe } from './errors.js';
import { refuseIoUring } from './fds.js';
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
const F = { DUPFD: 0, GETFD: 1, SETFD: 2, GETFL: 3, SETFL: 4, DUPFD_CLOEXEC: 1030 };
const IOCTL = { TCGETS: 0x5401, TIOCGWINSZ: 0x5413, FIONBIO: 0x5421, FIONCLEX: 0x5450, FIOCLEX: 0x5451 };
const PR = { GET_DUMPABLE: 3, SET_NAME: 15, GET_NAME: 16, GET_SECCOMP: 21, GET_NO_NEW_PRIVS: 39, SET_VMA: 0x53564d41 };
export const SIG = { none: 0, SIGKILL: 9, SIGTERM: 15 };

/** The io_uring calls, answered "no such call". */
const ioUringAbsent = (): SeccompRule[] =>
  ['io_uring_setup', 'io_uring_enter', 'io_uring_register'].map((syscall) => ({ syscall, clauses: [], otherwise: ABSENT }));

/** What either half of a running Node process needs, in the order of how often it is called. */
export function nodeRuntime(pid: number): SeccompRule[] {
  return [
    ...allow('futex', 'epoll_pwait', 'epoll_wait', 'epoll_pwait2', 'read', 'write', 'writev', 'readv', 'pread64'),
    ...allow('clock_gettime', 'clock_getres', 'gettimeofday', 'time', 'clock_nanosleep', 'nanosleep', 'sched_yield'),
    ...allow('epoll_ctl', 'close', 'poll', 'ppoll', 'recvmsg', 'recvfrom', 'shutdown', 'getsockopt', 'getsockname', 'getpeername'),
    // Memory, the JIT's executable pages included, and thread start-up.
    ...allow('mmap', 'munmap', 'mremap', 'mprotect', 'madvise', 'brk', 'mincore', 'membarrier'),
    ...allow('pkey_alloc', 'pkey_free', 'pkey_mprotect', 'set_robust_list', 'rseq', 'sigaltstack', 'getrandom'),
    allowIfBits('clone', 0, CLONE_THREAD),
    { syscall: 'clone3', clauses: [], otherwise: ABSENT }, // glibc falls back to clone, whose flags can be read
    ...allow('rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigtimedwait', 'exit', 'exit_group', 'restart_syscall'),
    allowIf('tgkill', 0, [pid]), // signals to its own threads (abort(), the C library's id changes)
    ...allow('getpid', 'gettid', 'getppid', 'getuid', 'geteuid', 'getgid', 'getegid', 'getgroups', 'getresuid', 'getresgid'),
    ...allow('sched_getaffinity', 'getcpu', 'uname', 'sysinfo', 'getrusage', 'getcwd', 'lseek', 'fstat', 'fsync', 'fdatasync'),
    // glibc reads a thread's scheduling parameters the first time pthread_getattr_np
    // looks at it; V8's workers do when they first take part in compiling or garbage
    // collection, which can be long after the filter (seen on Node 24).
    ...allow('sched_getparam', 'sched_getscheduler'),
    allowIf('prlimit64', 0, [0, pid]), // its own limits, not the other half's
    ...allow('eventfd2', 'pipe2', 'epoll_create1'),
    allowIf('fcntl', 1, [F.GETFD, F.SETFD, F.GETFL, F.SETFL]), // no F_DUPFD: a descriptor keeps its number
    allowIf('ioctl', 1, [IOCTL.FIONBIO, IOCTL.FIOCLEX, IOCTL.FIONCLEX, IOCTL.TCGETS, IOCTL.TIOCGWINSZ]),
    allowIf('prctl', 0, [PR.SET_NAME, PR.GET_NAME, PR.GET_DUMPABLE, PR.GET_SECCOMP, PR.GET_NO_NEW_PRIVS, PR.SET_VMA]),
    // Node's fstat. AT_EMPTY_PATH is required, but the kernel still looks up a path that
    // is not empty: the metadata (never the contents) of a path the user may reach can
    // be read this way; seccomp cannot see the path.
    allowIfBits('newfstatat', 3, AT_EMPTY_PATH),
    allowIfBits('statx', 2, AT_EMPTY_PATH),
    // As the start filter answers them: a loop set up later (the inspector's) falls back to epoll.
    ...ioUringAbsent(),
    // Refused, not fatal: harmless to refuse, and Node copes with the error.
    ...deny('open', 'openat', 'openat2', 'creat', 'stat', 'lstat', 'readlink', 'readlinkat', 'access', 'faccessat', 'faccessat2'),
    ...deny('dup', 'dup2', 'dup3', 'setsockopt', 'sendto', 'sendmmsg', 'bind', 'listen', 'socketpair', 'wait4', 'waitid'),
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

/** Installs the start filter in every thread; no_new_privs first, as the systemd unit's bounding set lacks CAP_SYS_ADMIN. */
export function installStartFilter(procctl: ProcCtl = loadProcCtl()): void {
  try {
    procctl.noNewPrivs();
    procctl.seccomp(startRules(), Action.allow);
  } catch (err) {
    throw new StartupError(`capture process: start filter: ${describe(err)}`, { cause: err });
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
  /** Landlock: the one directory whose files the process may remove, or null. */
  removeFilesBelow: string | null;
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
    const seccompRules = procctl.seccomp(plan.rules, Action.killProcess);
    if (procctl.state().seccomp !== 2) throw new Error('the kernel reports no seccomp filter');
    return { seccompRules, landlockAbi };
  } catch (err) {
    throw new StartupError(`${plan.who}: sandbox: ${describe(err)}`, { cause: err });
  }
}

export function describeLayers(layers: SandboxLayers): string {
  const landlock = layers.landlockAbi > 0 ? `Landlock ABI ${layers.landlockAbi}` : 'no Landlock (kernel without it)';
  return `sandbox: no_new_privs, not dumpable, seccomp allowlist (${layers.seccompRules} rules, other calls kill), ${landlock}`;
}

/**
 * Node opens some things the first time they are used: the standard streams, the
 * local time zone. Touching them here keeps those opens before the filter.
 */
export function warmUpNode(): void {
  void process.stdout.writable;
  void process.stderr.writable;
  new Date().toString();
  new Date().toLocaleString();
}
