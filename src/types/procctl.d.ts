// The API of the project's process-attribute addon (native/procctl.c, built into
// build/Release/procctl.node); src/shared/procctl.ts is the one place that loads it.

export interface ProcCtl {
  /** PR_SET_NO_NEW_PRIVS on the calling thread; inherited by every process spawned after. */
  noNewPrivs(): void;
  /** PR_SET_DUMPABLE for the whole process. */
  setDumpable(dumpable: boolean): void;
  state(): { noNewPrivs: boolean; dumpable: boolean };
}
