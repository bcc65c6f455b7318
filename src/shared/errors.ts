// Error types with a stable code, so that callers and tests can tell start-up
// problems (one line, exit 1) from faults at run time.

export class StartupError extends Error {
  readonly code = 'ERR_SCANLOGD_STARTUP';
}

export class FatalError extends Error {
  readonly code = 'ERR_SCANLOGD_FATAL';
}

export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
