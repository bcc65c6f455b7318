// Detection latency without load: from the threshold-crossing packet of a scan, as the
// generator stamps it, to the syslog datagram, as the listener stamps it (one clock).

import { sleep } from '../harness/netns.js';
import { runFlood, type FloodResult } from '../harness/generator.js';
import { startDaemon, type DaemonKind } from './daemons.js';
import { closeListener, listener, type Context } from './context.js';
import { fromSource, type TimedMessage, type TimedSyslog } from './syslog.js';
import { median, quantile } from './stats.js';
import { SCAN_SOURCES, SEED } from './workloads.js';

/** Scans the reference logs per start: its flood limit allows 5 lines per 20 s. */
const REFERENCE_BURST = 5;

export interface LatencyResult {
  daemon: DaemonKind;
  method: string;
  sent: number;
  logged: number;
  latenciesUs: number[];
  medianUs: number;
  p99Us: number;
  maxUs: number;
}

function matchLatencies(scans: FloodResult['scans'], messages: TimedMessage[]): number[] {
  const out: number[] = [];
  for (const s of scans) {
    const m = messages.find((x) => fromSource(x, s.addr));
    if (m !== undefined) out.push(Number(m.arrivedNs - s.crossingNs) / 1000);
  }
  return out;
}

async function scanBurst(ctx: Context, sys: TimedSyslog, first: number, scans: number): Promise<FloodResult> {
  const r = await runFlood(ctx.bed.scanner, {
    mode: 'scan',
    dst: ctx.bed.targetAddr,
    rate: 0,
    count: 0,
    seconds: 30,
    seed: SEED + first,
    srcNet: SCAN_SOURCES,
    checksum: 'good',
    scans,
    scanFirst: first,
    gapUs: 10_000,
  });
  const deadline = Date.now() + 1500;
  while (matchLatencies(r.scans, sys.messages).length < r.scans.length && Date.now() < deadline) await sleep(20);
  return r;
}

function latencyResult(daemon: DaemonKind, method: string, sent: number, latenciesUs: number[]): LatencyResult {
  return {
    daemon,
    method,
    sent,
    logged: latenciesUs.length,
    latenciesUs,
    medianUs: median(latenciesUs),
    p99Us: quantile(latenciesUs, 0.99),
    maxUs: Math.max(...latenciesUs),
  };
}

/**
 * The flood limit (5 lines, then silence until 20 s of quiet) would allow 200 logged
 * scans only over 14 minutes. Ours runs once with --log-count 1000000, which changes
 * only the limiter; the reference, whose limit is compiled in, is started afresh for
 * every burst of 5 scans. Ours is also measured the reference's way (fresh start per
 * burst, default options) on fewer scans, so cold start shows.
 */
export async function measureLatency(ctx: Context): Promise<LatencyResult[]> {
  const n = ctx.options.latencyScans;
  const results: LatencyResult[] = [];

  {
    const sys = listener(ctx, 'lat-ours');
    const d = await startDaemon('ours', ctx.bed, sys.path, ['--log-count', '1000000'], ctx.options.oursNodeArgs);
    try {
      await sleep(300);
      const r = await scanBurst(ctx, sys, 0, n);
      results.push(
        latencyResult(
          'ours',
          `one start, --log-count 1000000, ${n} scans 10 ms apart`,
          r.scans.length,
          matchLatencies(r.scans, sys.messages),
        ),
      );
    } finally {
      await d.stop();
      closeListener(ctx, sys);
    }
  }

  for (const [kind, bursts] of [
    ['reference', Math.ceil(n / REFERENCE_BURST)],
    ['ours', Math.ceil(n / REFERENCE_BURST / 4)],
  ] as const) {
    const latencies: number[] = [];
    let sent = 0;
    for (let b = 0; b < bursts; b++) {
      const sys = listener(ctx, `lat-${kind}`);
      const d = await startDaemon(kind, ctx.bed, sys.path, [], kind === 'ours' ? ctx.options.oursNodeArgs : []);
      try {
        await sleep(200);
        const r = await scanBurst(ctx, sys, 1000 + b * REFERENCE_BURST, REFERENCE_BURST);
        sent += r.scans.length;
        latencies.push(...matchLatencies(r.scans, sys.messages));
      } finally {
        await d.stop();
        closeListener(ctx, sys);
      }
    }
    results.push(
      latencyResult(
        kind,
        `fresh start per burst of ${REFERENCE_BURST} scans 10 ms apart, default options, ${bursts} bursts`,
        sent,
        latencies,
      ),
    );
  }
  return results;
}
