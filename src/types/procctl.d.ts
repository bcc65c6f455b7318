// The API of the project's process-attribute and sandbox addon (native/procctl.c and
// native/sandbox.c, built into build/Release/procctl.node); src/shared/procctl.ts is
// the one place that loads it.

/** Holds when the low 32 bits of argument `arg`, masked with `mask` (all bits if absent), are one of `values`. */
export interface SeccompCondition {
  arg: number;
  values: number[];
  mask?: number;
}

/** Holds when every condition holds. */
export interface SeccompClause {
  when: SeccompCondition[];
  action: number;
}

/** The first clause that holds gives the action, else `otherwise`. */
export interface SeccompRule {
  syscall: string;
  clauses: SeccompClause[];
  otherwise: number;
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
  /** Installs the filter in every thread; returns the rules this architecture has. */
  seccomp(rules: SeccompRule[], defaultAction: number): number;
  /** Landlock on the calling thread (and threads it starts); the ABI used, 0 if none. */
  landlock(removeFilesBelow: number | null, scopeSignals: boolean): number;
  /** Replaces the process image (same pid), keeping the descriptors `keep` (all others close); returns only by throwing. */
  execve(file: string, argv: string[], env: string[], keep: number[]): never;
  /** Fills `words` from getrandom(2) and returns it. */
  fillRandom<T extends Uint32Array>(words: T): T;
  /**
   * Gives back the resident pages of private read-only file mappings that hold no page
   * of their own (native/pages.c); the first call picks them from /proc/self/smaps, later
   * ones reuse that list. Returns the bytes advised.
   */
  releaseFilePages(): number;
  /** The errno of a call that can do nothing (io_uring_setup(0, NULL), listen(-1, 0)): a filter answers first. */
  refusal(name: 'io_uring_setup' | 'listen'): number;
}
