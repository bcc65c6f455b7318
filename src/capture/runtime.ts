// Which Node.js runs the daemon, and the node options of the processes it starts.

/**
 * V8 lets its young generation grow to 2 x 16 MB in a long-running process, and under
 * a flood resident memory climbs with it (bench/ measures how far). 1 MB semi-spaces
 * keep the heap near its starting size, at the price of more frequent scavenges
 * (cheap: little survives). V8 reads this only at start-up.
 */
const HEAP_OPTIONS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * Node 22.14 and later and Node 24 can be told never to open the inspector on a
 * SIGUSR1; Node 20 cannot, and there the start filter's refused listen(2) keeps its
 * port from opening (src/shared/sandbox.ts).
 */
export const NO_SIGNAL_INSPECTOR = '--disable-sigusr1';

/** Whether this runtime knows `option`. */
export function runtimeHas(option: string, flags: ReadonlySet<string> = process.allowedNodeEnvironmentFlags): boolean {
  return flags.has(option);
}

/** The node options each process the daemon starts gets, on this runtime. */
export function nodeOptions(flags: ReadonlySet<string> = process.allowedNodeEnvironmentFlags): string[] {
  return runtimeHas(NO_SIGNAL_INSPECTOR, flags) ? [...HEAP_OPTIONS, NO_SIGNAL_INSPECTOR] : [...HEAP_OPTIONS];
}
