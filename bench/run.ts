// npm run bench: ours (raw socket, and libpcap on the device) against Debian's scanlogd
// 2.2.8 on the same packets, one after the other, in network namespaces of its own.
// Prints a table and the ratios ours/reference, and writes the figures as JSON
// (bench/results/latest.json).
// Needs root. Bounded: every run of the generator stops by count and by time.

import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { createTestbed, isRoot, type Testbed } from '../harness/netns.js';
import { makeSocketDir } from '../harness/syslog.js';
import { REFERENCE } from '../harness/daemon.js';
import { buildGenerator, killStarted } from '../harness/generator.js';
import { isOurs, stopAllDaemons } from './daemons.js';
import { calibrate, machine } from './calibration.js';
import { createContext } from './context.js';
import { measureLatency, type LatencyResult } from './latency.js';
import { parseOptions } from './options.js';
import { measurePoint, type PointResult } from './point.js';
import { pointLine, report } from './report.js';
import { fixed, kilo, percent } from './stats.js';
import { summarize } from './summary.js';
import type { TimedSyslog } from './syslog.js';
import { evaluate } from './targets.js';
import { NOISE, WORKLOADS } from './workloads.js';

/** The whole benchmark must end well within 10 minutes; past this it stops itself. */
const DEADLINE_MS = 9.5 * 60 * 1000;

const progress = (text: string): void => {
  process.stderr.write(`bench: ${text}\n`);
};

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!isRoot) throw new Error('the benchmark needs root (network namespaces, raw sockets)');
  if (!fs.existsSync(REFERENCE))
    throw new Error(`reference scanlogd not found at ${REFERENCE}: run scripts/test-setup.sh (or npm test) once`);
  // Debian's build chroots there; without it the reference exits at once.
  if (!fs.existsSync('/run/scanlogd/empty'))
    throw new Error('/run/scanlogd/empty is missing: run scripts/test-setup.sh (or npm test) once');
  for (const tool of ['nmap', 'taskset', 'unshare']) {
    if (childProcess.spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      throw new Error(`${tool} not found (apt-get install nmap util-linux)`);
  }
  const started = Date.now();
  const info = machine();
  progress('compiling the load generator');
  buildGenerator();

  let bed: Testbed | null = null;
  let dir: string | null = null;
  const listeners = new Set<TimedSyslog>();
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    killStarted();
    await stopAllDaemons();
    for (const l of listeners) l.close();
    bed?.destroy();
    if (dir !== null) fs.rmSync(dir, { recursive: true, force: true });
  };
  const abort = (why: string, code: number): void => {
    progress(why);
    void cleanup().finally(() => process.exit(code));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => abort(`${signal}: cleaning up`, 130));
  const watchdog = setTimeout(() => abort(`still running after ${DEADLINE_MS / 60000} minutes: stopping`, 1), DEADLINE_MS);

  try {
    bed = createTestbed({ ipv6: true });
    dir = makeSocketDir();
    const ctx = createContext(bed, dir, options, listeners);
    progress(`namespaces ${bed.target} (${bed.targetAddr}) and ${bed.scanner} (${bed.scannerAddr})`);

    const calibration = await calibrate(ctx);
    progress(`generator ceiling: ${calibration.map((c) => `${c.transport}/${c.checksum} ${kilo(c.pps)} pps`).join(', ')}`);

    const points: PointResult[] = [];
    const selected = (id: string): boolean => options.only.length === 0 || options.only.includes(id);
    const noisy: PointResult[] = [];
    let retriesLeft = NOISE.retries;
    for (const w of WORKLOADS.filter((x) => selected(x.id))) {
      for (let rep = 0; rep < options.reps; rep++) {
        // Alternate which daemon goes first, so that drift in the machine's load
        // does not favour one of them.
        // scanlogd 2.2.8 sees neither IPv6 nor UDP: W4 is ours alone.
        const kinds = w.oursArgs === undefined ? options.daemons : options.daemons.filter(isOurs);
        const order = rep % 2 === 0 ? kinds : [...kinds].reverse();
        for (;;) {
          const pair: PointResult[] = [];
          for (const kind of order) {
            const p = await measurePoint(ctx, kind, w, rep);
            pair.push(p);
            progress(pointLine(w.label, kind, p));
          }
          // Someone else's work on the machine makes one daemon look worse than the
          // other: measure the pair again, while time allows.
          const busy = pair.some((p) => p.otherLoad > NOISE.otherLoad);
          if (busy && retriesLeft > 0 && Date.now() - started < NOISE.retryUntilMs) {
            retriesLeft--;
            noisy.push(...pair);
            progress(`other load above ${percent(NOISE.otherLoad)}: measuring this pair again (${retriesLeft} retries left)`);
            continue;
          }
          points.push(...pair);
          break;
        }
      }
    }

    let latency: LatencyResult[] = [];
    if (selected('latency')) {
      progress('latency');
      latency = await measureLatency(ctx);
    }

    const summaries = summarize(points);
    const targets = evaluate(summaries, points, latency);
    const text = report(summaries, points, latency, targets, calibration, info, options.reps, options.oursNodeArgs, noisy.length / 2);
    process.stdout.write(`\n${text}\n`);

    const result = {
      version: 1,
      date: new Date().toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      machine: info,
      options,
      generatorCeiling: calibration,
      summaries,
      targets,
      latency: latency.map((l) => ({ ...l, latenciesUs: l.latenciesUs.map((x) => Math.round(x)) })),
      points,
      /** Pairs measured again because the machine was busy with other work. */
      noisyPoints: noisy,
    };
    fs.mkdirSync(path.dirname(options.out), { recursive: true });
    fs.writeFileSync(options.out, `${JSON.stringify(result, null, 1)}\n`);
    process.stdout.write(`\nJSON: ${path.relative(process.cwd(), options.out)}  (${fixed((Date.now() - started) / 1000, 0)} s)\n`);
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
