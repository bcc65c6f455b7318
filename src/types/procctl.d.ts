// The API of the project's process-attribute and sandbox addon (native/procctl.c and
// native/sandbox.c, built into build/Release/procctl.node); src/shared/procctl.ts is
// the one place that loads it.

/**
 * Holds when argument `arg`, masked with `mask` (all bits if absent), is one of `values`.
 * Without `wide` only the argument's low 32 bits count, as the kernel reads an int
 * argument (a descriptor, a command, a pid, flags) whatever the register's upper half
 * holds; with it, all 64 (a pointer, a size, an unsigned long).
 */
export interface SeccompCondition {
  arg: number;
  values: Array<number | bigint>;
  mask?: number | bigint;
  wide?: boolean;
}

/** Holds when every condition holds. */
export interface SeccompClause {
  when: SeccompCondition[];
  action: number;
}

/**
 * A policy's rule for one call: the first clause that holds gives the action, else
 * `otherwise`. The first rule that names a call is the one that counts.
 */
export interface SeccompRule {
  syscall: string;
  clauses: SeccompClause[];
  otherwise: number;
}

/** One rule as libseccomp takes it: holds when (argument & mask) == value for each condition, on 64 bits. */
export interface FilterCondition {
  arg: number;
  mask: bigint;
  value: bigint;
}

/** The rules of one call are alternatives: two with different actions must never both hold. */
export interface FilterRule {
  syscall: string;
  action: number;
  when: FilterCondition[];
}

export interface ProcCtl {
  /** PR_SET_NO_NEW_PRIVS on the calling thread; inherited by every process spawned after. */
  noNewPrivs(): void;
  /** PR_SET_DUMPABLE for the whole process. */
  setDumpable(dumpable: boolean): void;
  /** The C library's id changes (every thread); each throws with strerror's text. */
  setgroups(gids: number[]): void;
  setgid(gid: number): void;
  setuid(uid: number): void;
  /** Removes signal `signo` from the calling thread's signal mask. */
  unblockSignal(signo: number): void;
  /** seccomp: the mode (0 none, 2 filter). */
  state(): { noNewPrivs: boolean; dumpable: boolean; seccomp: number };
  /** Compiles the filter with libseccomp and installs it in every thread; returns how many of the calls named this architecture has. */
  seccomp(rules: FilterRule[], defaultAction: number): number;
  /** The program seccomp() would install, as struct sock_filter entries. */
  exportFilter(rules: FilterRule[], defaultAction: number): Buffer;
  /** Landlock on the calling thread (and threads it starts); the ABI used, 0 if none. */
  landlock(removeFilesBelow: number | null, scopeSignals: boolean): number;
  /** Replaces the process image (same pid), keeping the descriptors `keep` (all others close); returns only by throwing. */
  execve(file: string, argv: string[], env: string[], keep: number[]): never;
  /** Fills `words` from getrandom(2) and returns it. */
  fillRandom<T extends Uint32Array>(words: T): T;
  /**
   * Gives back the resident pages of private read-only file mappings that hold no page
   * of their own (native/pages.c), picked from /proc/self/smaps at the first call and at
   * each call with `reread`; other calls reuse the last list. Returns the bytes advised.
   */
  releaseFilePages(reread?: boolean): number;
  /** The errno of a call that can do nothing (io_uring_setup(0, NULL), listen(-1, 0)): a filter answers first. */
  refusal(name: 'io_uring_setup' | 'listen'): number;
}
