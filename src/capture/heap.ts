// node options for the daemon's processes. V8 lets its young generation grow to
// 2 x 16 MB in a long-running process, and under a flood resident memory climbs with
// it (bench/ measures how far). 1 MB semi-spaces keep the heap near its starting size,
// at the price of more frequent scavenges (cheap: little survives). V8 reads this only
// at start-up, so it goes on the command line of each process this one starts.

export const NODE_HEAP_OPTIONS: readonly string[] = ['--max-semi-space-size=1'];
