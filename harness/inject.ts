// System calls made from inside a running thread by the project's injector
// (harness/inject/inject.c, compiled with the machine's gcc into dist/ on first use):
// the isolation tests attack the daemon's halves with it. A call that cannot be made
// at all throws; what the kernel answered, or how the process died, comes back typed.

import childProcess = require('node:child_process');
import path = require('node:path');
import { compileC } from './compile.js';
import { REPO } from './daemon.js';

export const INJECTOR_SOURCE = path.join(REPO, 'harness', 'inject', 'inject.c');
export const INJECTOR_BINARY = path.join(REPO, 'dist', 'harness', 'bin', 'scanlogd-inject');

/**
 * The calls the injector knows by name (open, poll, readlink and unlink exist on x86_64
 * only), or `nr:N` for a number no name gives (another ABI's, say).
 */
export type SyscallName =
  | 'bind'
  | 'clone'
  | 'clone3'
  | 'close'
  | 'connect'
  | 'dup'
  | 'dup3'
  | 'execve'
  | 'fcntl'
  | 'ftruncate'
  | 'getpid'
  | 'getsockopt'
  | 'io_uring_setup'
  | 'ioctl'
  | 'kill'
  | 'lseek'
  | 'mremap'
  | 'newfstatat'
  | 'open'
  | 'openat'
  | 'poll'
  | 'ppoll'
  | 'prctl'
  | 'prlimit64'
  | 'ptrace'
  | 'pwrite64'
  | 'readlink'
  | 'readlinkat'
  | 'renameat'
  | 'sendmmsg'
  | 'sendmsg'
  | 'sendto'
  | 'setsockopt'
  | 'setuid'
  | 'shutdown'
  | 'socket'
  | 'statx'
  | 'tgkill'
  | 'unlink'
  | 'unlinkat'
  | 'write'
  | 'writev'
  | `nr:${number}`;

/**
 * An integer; bytes the injector places in the thread's memory and passes by address; or
 * a message passing a descriptor (see `passing`).
 */
export type SyscallArg = number | Buffer | { rights: number };

export interface Syscall {
  name: SyscallName;
  args: SyscallArg[];
}

export const syscall = (name: SyscallName, ...args: SyscallArg[]): Syscall => ({ name, args });

/**
 * A message that passes descriptor `fd` with SCM_RIGHTS, for sendmsg (and, as a single
 * struct mmsghdr, for sendmmsg): one byte of data, the control message, pointers to
 * where the injector placed them.
 */
export const passing = (fd: number): SyscallArg => ({ rights: fd });

/** A NUL-terminated string, as a path argument. */
export const cString = (text: string): Buffer => Buffer.from(`${text}\0`);

export interface CallResult {
  call: Syscall;
  /** What the system call returned: -errno when it failed. */
  value: number;
  /** The errno's name (EPERM, EACCES, ...) when it failed, else null. */
  errno: string | null;
}

export type Ending =
  /** Every call was made; the thread has its registers back and runs on. */
  | { kind: 'detached' }
  /** The process was killed during call `during` (index into the calls). */
  | { kind: 'killed'; during: number; signal: string }
  | { kind: 'exited'; during: number; status: number }
  /** Call `during` was an execve that succeeded: the process runs another program. */
  | { kind: 'replaced'; during: number };

export interface Injection {
  /** 'own': the thread's own syscall instruction; 'libc': one in its C library's code. */
  via: 'own' | 'libc';
  /** One per call made, in order. */
  results: CallResult[];
  ending: Ending;
  /** The injector's output, for messages. */
  output: string;
}

let built = false;

function injectorBinary(): string {
  if (!built) compileC(INJECTOR_SOURCE, INJECTOR_BINARY, 'system-call injector');
  built = true;
  return INJECTOR_BINARY;
}

function encodeCall(call: Syscall): string {
  const args = call.args.map((a) => {
    if (Buffer.isBuffer(a)) return `hex:${a.toString('hex')}`;
    if (typeof a !== 'number') return `rights:${a.rights}`;
    if (!Number.isSafeInteger(a)) throw new Error(`${call.name}: argument ${a} is not an integer`);
    return String(a);
  });
  return [call.name, ...args].join(' ');
}

/**
 * Makes `calls` one after another from inside thread `tid` (for a process's main
 * thread, its pid), then lets it run on. Needs root.
 */
export function injectCalls(tid: number, calls: Syscall[]): Injection {
  const r = childProcess.spawnSync(injectorBinary(), [String(tid), ...calls.map(encodeCall)], { encoding: 'utf8', timeout: 30000 });
  const output = `${String(r.stdout)}${String(r.stderr)}`;
  if (r.status !== 0)
    throw new Error(`the injector could not make the calls in thread ${tid} (${String(r.status ?? r.signal)}): ${output}`);
  const unexpected = (): Error => new Error(`unexpected output from the injector: ${output}`);
  const lines = String(r.stdout).trimEnd().split('\n');
  const via = /^via (own|libc) /.exec(lines.shift() ?? '')?.[1];
  if (via !== 'own' && via !== 'libc') throw unexpected();
  const results: CallResult[] = [];
  let ending: Ending | undefined;
  for (const line of lines) {
    const [kind, index, first, second] = line.split(' ');
    const i = Number(index);
    const call = calls[i];
    if (ending !== undefined) throw unexpected();
    if (kind === 'ret' || kind === 'err') {
      if (i !== results.length || call === undefined) throw unexpected();
      results.push(kind === 'ret' ? { call, value: Number(first), errno: null } : { call, value: -Number(first), errno: second ?? '?' });
    } else if (kind === 'died' && i === results.length) {
      ending = { kind: 'killed', during: i, signal: second ?? '?' };
    } else if (kind === 'exited' && i === results.length) {
      ending = { kind: 'exited', during: i, status: Number(first) };
    } else if (kind === 'exec' && i === results.length - 1) {
      ending = { kind: 'replaced', during: i };
    } else if (kind === 'detached' && results.length === calls.length) {
      ending = { kind: 'detached' };
    } else {
      throw unexpected();
    }
  }
  if (ending === undefined) throw unexpected();
  return { via, results, ending, output };
}
