// Start-up errors, with a stable code so that callers and tests can tell them (one
// line, exit 1) from faults at run time, and the wording of system errors.

export class StartupError extends Error {
  readonly code = 'ERR_SCANLOGD_STARTUP';
}

/** What went wrong, in words: the message of an Error, or the text of anything else thrown. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** An errno error as the C library's strerror(3) words it, as scanlogd printed them. */
export function syscallText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'No such file or directory';
  if (code === 'EACCES') return 'Permission denied';
  if (code === 'ENOTDIR') return 'Not a directory';
  if (code === 'ELOOP') return 'Too many levels of symbolic links';
  return messageOf(err);
}
