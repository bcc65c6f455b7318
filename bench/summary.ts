// The runs of each workload and daemon folded into one row of medians, which the
// targets judge and the report prints.

import type { DaemonKind } from './daemons.js';
import type { PointResult, ProcessFigures } from './point.js';
import { median } from './stats.js';

type NumericField = {
  [K in keyof PointResult]: PointResult[K] extends number ? K : never;
}[keyof PointResult];

function medianOf(points: PointResult[], field: NumericField): number {
  return median(points.map((p) => p[field]));
}

export interface Summary {
  workload: string;
  label: string;
  daemon: DaemonKind;
  reps: number;
  offered: number;
  generatorPps: number;
  delivered: number;
  socketDrops: number;
  channelDrops: number;
  dropFraction: number;
  dropFractionMax: number;
  cpuUsPerPacket: number;
  cpuUsPerPacketRange: [number, number];
  cpuSchedUsPerPacket: number;
  /** Median peak RSS of each process, MB. */
  hwmMb: Record<string, number>;
  totalHwmMb: number;
  otherLoad: number;
  hiddenScanLogged: string | null;
}

export function summarize(points: PointResult[]): Summary[] {
  const out: Summary[] = [];
  const keys = [...new Set(points.map((p) => `${p.workload}|${p.daemon}`))];
  for (const key of keys) {
    const ps = points.filter((p) => `${p.workload}|${p.daemon}` === key);
    const first = ps[0] as PointResult;
    const hwmMb: Record<string, number> = {};
    for (const proc of first.processes) {
      hwmMb[proc.role] = median(ps.map((p) => p.processes.find((x) => x.role === proc.role)?.hwmKb ?? NaN)) / 1024;
    }
    const cpu = ps.map((p) => p.cpuUsPerPacket);
    out.push({
      workload: first.workload,
      label: first.label,
      daemon: first.daemon,
      reps: ps.length,
      offered: medianOf(ps, 'offered'),
      generatorPps: medianOf(ps, 'generatorPps'),
      delivered: medianOf(ps, 'delivered'),
      socketDrops: medianOf(ps, 'socketDrops'),
      channelDrops: medianOf(ps, 'channelDrops'),
      dropFraction: medianOf(ps, 'dropFraction'),
      dropFractionMax: Math.max(...ps.map((p) => p.dropFraction)),
      cpuUsPerPacket: median(cpu),
      cpuUsPerPacketRange: [Math.min(...cpu), Math.max(...cpu)],
      cpuSchedUsPerPacket: medianOf(ps, 'cpuSchedUsPerPacket'),
      hwmMb,
      totalHwmMb: medianOf(ps, 'totalHwmKb') / 1024,
      otherLoad: medianOf(ps, 'otherLoad'),
      hiddenScanLogged: first.hiddenScanLogged === null ? null : `${ps.filter((p) => p.hiddenScanLogged === true).length}/${ps.length}`,
    });
  }
  return out;
}

/**
 * The median over the runs of one workload and daemon of a process figure summed over
 * its processes (those in `role` only, unless null): what the memory table shows and
 * the memory target judges, so that both read the same number.
 */
export function medianProcessSum(
  points: PointResult[],
  workload: string,
  daemon: DaemonKind,
  role: string | null,
  pick: (x: ProcessFigures) => number,
): number {
  const runs = points.filter((p) => p.workload === workload && p.daemon === daemon);
  return median(runs.map((p) => p.processes.filter((x) => role === null || x.role === role).reduce((s, x) => s + pick(x), 0)));
}
