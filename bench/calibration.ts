// What a run's figures are measured against: the machine it ran on, and the load
// generator's own ceiling with nothing listening, for each way of sending.

import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { REFERENCE, REPO } from '../harness/daemon.js';
import { runFlood } from '../harness/generator.js';
import type { Context } from './context.js';
import { FLOOD_SOURCES, SEED } from './workloads.js';

export function machine(): Record<string, string | number> {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  return {
    nproc: os.cpus().length,
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown',
    kernel: os.release(),
    node: process.version,
    memoryMb: Math.round(os.totalmem() / 2 ** 20),
    loadAverageAtStart: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    reference: path.relative(REPO, REFERENCE),
  };
}

export interface Calibration {
  transport: string;
  checksum: string;
  pps: number;
}

/** The generator's own ceiling with nothing listening, for each way of sending. */
export async function calibrate(ctx: Context): Promise<Calibration[]> {
  const out: Calibration[] = [];
  for (const [transport, checksum] of [
    ['raw', 'good'],
    ['raw', 'bad'],
    ['packet', 'bad'],
  ] as const) {
    const r = await runFlood(ctx.bed.scanner, {
      mode: 'syn',
      dst: ctx.bed.targetAddr,
      rate: 0,
      count: 500_000,
      seconds: 2,
      seed: SEED,
      srcNet: FLOOD_SOURCES,
      checksum,
      link: transport === 'packet' ? ctx.link : null,
    });
    out.push({ transport, checksum, pps: r.pps });
  }
  return out;
}
