// The exit statuses of the daemon's processes and what each says: the monitor exits
// with one that tells whose fault its stop was, and the capture process, its parent,
// words it for the operator. Numbered as sysexits.h does for the two kinds of fault.

/** Exit status of a process that stops on a fault it does not name more precisely. */
export const EXIT_FAULT = 1;
/** The monitor refused a record from the capture process: the sender's fault (EX_DATAERR). */
export const EXIT_REFUSED_RECORD = 65;
/** A fault inside the process itself, a bug (EX_SOFTWARE). */
export const EXIT_INTERNAL_FAULT = 70;

/** What the capture process says when its monitor exits with `status`. */
export function monitorExitText(pid: number | undefined, status: number): string {
  const monitor = `monitor (pid ${pid ?? '?'}) exited with status ${status}`;
  if (status === EXIT_REFUSED_RECORD) return `${monitor}: it refused a record from the capture process (see its message)`;
  if (status === EXIT_INTERNAL_FAULT) return `${monitor}: an internal fault of the monitor (see its message)`;
  return monitor;
}
