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

/** strerror(3)'s words for the errors a path or a socket gives at start. */
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENXIO: 'No such device or address',
  ENODEV: 'No such device',
  EIO: 'Input/output error',
  EEXIST: 'File exists',
  EROFS: 'Read-only file system',
  ENOSPC: 'No space left on device',
  EBUSY: 'Device or resource busy',
  EAGAIN: 'Resource temporarily unavailable',
  EINVAL: 'Invalid argument',
  ETXTBSY: 'Text file busy',
  ENAMETOOLONG: 'File name too long',
  EMFILE: 'Too many open files',
  ECONNREFUSED: 'Connection refused',
  ENOTSOCK: 'Socket operation on non-socket',
  EPROTOTYPE: 'Protocol wrong type for socket',
};

/** strerror(3)'s words for an errno name such as ENOENT, or the name itself outside the table. */
export function errnoText(code: string): string {
  return STRERROR[code] ?? code;
}

/**
 * An errno error as the C library's strerror(3) words it, as scanlogd printed them;
 * an errno outside the table in libuv's words (its message without the code and the
 * call), anything else as its message.
 */
export function syscallText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && code in STRERROR) return STRERROR[code] as string;
  const m = /^[A-Z0-9]+: ([^,]+)/.exec(messageOf(err));
  if (code !== undefined && m !== null) return (m[1] as string).charAt(0).toUpperCase() + (m[1] as string).slice(1);
  return messageOf(err);
}
