// The benchmark's command line: how many runs per point, which workloads, how floods
// are sent, where the JSON goes. A bad option prints the usage and exits 2.

import fs = require('node:fs');
import path = require('node:path');
import { REPO } from '../harness/daemon.js';
import { DAEMON_KINDS, type DaemonKind } from './daemons.js';

export interface Options {
  reps: number;
  out: string;
  latencyScans: number;
  transport: 'raw' | 'packet';
  /** Workload ids to run (all when empty), and whether to measure latency. */
  only: string[];
  /** node options for our capture process (e.g. --max-semi-space-size=1). */
  oursNodeArgs: string[];
  /** Another build's entry script, run as daemon `baseline` beside `ours` (raw socket) on the same packets. */
  baseline: string | null;
  /** The daemons to run (all but `ours/slow` by default; `baseline` only with --baseline). */
  daemons: DaemonKind[];
}

export function parseOptions(args: string[]): Options {
  // --name=value is --name value.
  const argv = args.flatMap((a) => (/^--[a-z-]+=/.test(a) ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a]));
  const o: Options = {
    reps: 3,
    out: path.join(REPO, 'bench', 'results', 'latest.json'),
    latencyScans: 200,
    transport: 'packet',
    only: [],
    oursNodeArgs: [],
    baseline: null,
    daemons: [...DAEMON_KINDS],
  };
  let daemons: string[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--reps' && v !== undefined) o.reps = Math.max(1, Math.min(5, Number(v)));
    else if (a === '--out' && v !== undefined) o.out = path.resolve(v);
    else if (a === '--latency-scans' && v !== undefined) o.latencyScans = Math.max(5, Math.min(400, Number(v)));
    else if (a === '--transport' && (v === 'raw' || v === 'packet')) o.transport = v;
    else if (a === '--only' && v !== undefined) o.only = v.split(',');
    else if (a === '--ours-node-args' && v !== undefined) o.oursNodeArgs = v.split(' ').filter((x) => x !== '');
    else if (a === '--baseline' && v !== undefined && fs.existsSync(v)) o.baseline = path.resolve(v);
    else if (a === '--daemons' && v !== undefined) daemons = v.split(',');
    else {
      process.stderr.write(
        'usage: node dist/bench/run.js [--reps N (1-5, default 3)] [--out FILE] [--latency-scans N] [--transport raw|packet]\n' +
          '       [--only W1-100k,W1-200k,W1-300k,W1-max,W2-300k,W3-W1,W3-W2,W4-syn6,W4-udp,W4-udp6,MEM,MEM-slow,latency] [--ours-node-args "ARGS"]\n' +
          '       [--baseline ENTRY_SCRIPT (another build, as scripts/stage.sh prints it)] [--daemons ours,baseline,ours/slow,ours/pcap,reference]\n',
      );
      process.exit(2);
    }
    i++;
  }
  const known: DaemonKind[] = ['ours', ...(o.baseline === null ? [] : ['baseline' as const]), 'ours/slow', 'ours/pcap', 'reference'];
  o.daemons = daemons === null ? known.filter((kind) => kind !== 'ours/slow') : known.filter((kind) => daemons?.includes(kind));
  if (daemons !== null && o.daemons.length !== daemons.length) {
    process.stderr.write(`bench: --daemons takes ${known.join(', ')}${o.baseline === null ? ' (baseline with --baseline)' : ''}\n`);
    process.exit(2);
  }
  return o;
}
