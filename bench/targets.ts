// The targets judged on one run's medians, against the thresholds in workloads.ts;
// some rows are information only (pass null).

import { DAEMON_KINDS, isOurs, type DaemonKind } from './daemons.js';
import type { LatencyResult } from './latency.js';
import type { PointResult } from './point.js';
import { fixed, kilo, percent } from './stats.js';
import { medianProcessSum, type Summary } from './summary.js';
import { THRESHOLDS } from './workloads.js';

export interface Target {
  target: string;
  value: string;
  pass: boolean | null;
}

/** "W1-300k" -> "W1 300k/s", as the targets name a workload. */
const rateName = (workload: string): string => `${workload.replace('-', ' ')}/s`;

export function evaluate(summaries: Summary[], points: PointResult[], latency: LatencyResult[]): Target[] {
  const get = (w: string, d: DaemonKind): Summary | undefined => summaries.find((s) => s.workload === w && s.daemon === d);
  const targets: Target[] = [];
  const { floodDrops, floodCpu, laneCpu, establishedPcapCpu, dropOnset, hiddenScan, peakRss, memoryFlat } = THRESHOLDS;

  const oDrops = get(floodDrops.workload, 'ours');
  const rDrops = get(floodDrops.workload, 'reference');
  if (oDrops !== undefined && rDrops !== undefined) {
    targets.push({
      target: `${rateName(floodDrops.workload)}: drop fraction of ours <= reference`,
      value: `ours ${percent(oDrops.dropFraction)}, reference ${percent(rDrops.dropFraction)} (medians)`,
      pass: oDrops.dropFraction <= rDrops.dropFraction,
    });
  }
  const oCpu = get(floodCpu.workload, 'ours');
  const rCpu = get(floodCpu.workload, 'reference');
  if (oCpu !== undefined && rCpu !== undefined) {
    const cpuRatio = oCpu.cpuUsPerPacket / rCpu.cpuUsPerPacket;
    targets.push({
      target: `${rateName(floodCpu.workload)}: CPU per packet, both our processes, <= ${floodCpu.maxRatio}x reference`,
      value: `${fixed(oCpu.cpuUsPerPacket, 2)} / ${fixed(rCpu.cpuUsPerPacket, 2)} us = ${fixed(cpuRatio, 2)}x`,
      pass: cpuRatio <= floodCpu.maxRatio,
    });
  }
  // The other lanes against the IPv4 SYN lane, per backend, in the same run.
  for (const kind of DAEMON_KINDS.filter(isOurs)) {
    const base = get(laneCpu.base, kind);
    for (const w of laneCpu.workloads) {
      const lane = get(w, kind);
      if (base === undefined || lane === undefined) continue;
      const ratio = lane.cpuUsPerPacket / base.cpuUsPerPacket;
      targets.push({
        target: `${w} (${kind}): CPU per packet <= ${laneCpu.maxRatio}x ${laneCpu.base}'s`,
        value: `${fixed(lane.cpuUsPerPacket, 2)} / ${fixed(base.cpuUsPerPacket, 2)} us = ${fixed(ratio, 2)}x; drops ${percent(lane.dropFraction)}`,
        pass: ratio <= laneCpu.maxRatio,
      });
    }
  }
  for (const d of DAEMON_KINDS.filter((kind) => summaries.some((s) => s.daemon === kind))) {
    const w1 = summaries
      .filter((s) => s.workload.startsWith(`${dropOnset.workloads}-`) && s.daemon === d)
      .sort((a, b) => a.generatorPps - b.generatorPps);
    const firstDrop = w1.find((s) => s.dropFraction > dropOnset.fraction);
    const lastClean = [...w1]
      .reverse()
      .find((s) => s.dropFraction <= dropOnset.fraction && (firstDrop === undefined || s.generatorPps < firstDrop.generatorPps));
    targets.push({
      target: `${dropOnset.workloads}: where ${d} starts to drop (> ${dropOnset.fraction * 100}%)`,
      value:
        firstDrop === undefined
          ? `no drops up to ${kilo(w1.at(-1)?.generatorPps ?? NaN)} pps`
          : lastClean === undefined
            ? `already at ${kilo(firstDrop.generatorPps)} pps (${percent(firstDrop.dropFraction)})`
            : `between ${kilo(lastClean.generatorPps)} and ${kilo(firstDrop.generatorPps)} pps (${percent(firstDrop.dropFraction)} at ${kilo(firstDrop.generatorPps)})`,
      pass: null,
    });
  }
  for (const w of hiddenScan.workloads) {
    for (const kind of DAEMON_KINDS.filter(isOurs)) {
      const runs = points.filter((p) => p.workload === w);
      const reps = [...new Set(runs.map((p) => p.rep))];
      const missed = reps.filter((rep) => {
        const ours = runs.find((p) => p.rep === rep && p.daemon === kind);
        const ref = runs.find((p) => p.rep === rep && p.daemon === 'reference');
        return ref?.hiddenScanLogged === true && ours?.hiddenScanLogged !== true;
      });
      if (runs.some((p) => p.daemon === kind)) {
        targets.push({
          target: `${w}: the nmap scan is logged by ${kind} whenever by the reference`,
          value: `${kind} ${get(w, kind)?.hiddenScanLogged ?? '-'}, reference ${get(w, 'reference')?.hiddenScanLogged ?? '-'} runs logged`,
          pass: missed.length === 0,
        });
      }
    }
  }
  const pEst = get(establishedPcapCpu.workload, 'ours/pcap');
  const rEst = get(establishedPcapCpu.workload, 'reference');
  if (pEst !== undefined && rEst !== undefined) {
    const cpuRatio = pEst.cpuUsPerPacket / rEst.cpuUsPerPacket;
    targets.push({
      target: `${rateName(establishedPcapCpu.workload)}: CPU per packet, ours/pcap (kernel filter), <= ${establishedPcapCpu.maxRatio}x reference`,
      value: `${fixed(pEst.cpuUsPerPacket, 3)} / ${fixed(rEst.cpuUsPerPacket, 2)} us = ${fixed(cpuRatio, 3)}x`,
      pass: cpuRatio <= establishedPcapCpu.maxRatio,
    });
  }
  // Beside the raw socket's CPU target, libpcap's figure on the same workload, judged by nothing.
  const pCpu = get(floodCpu.workload, 'ours/pcap');
  if (pCpu !== undefined && rCpu !== undefined) {
    targets.push({
      target: `${rateName(floodCpu.workload)}: CPU per packet, ours/pcap`,
      value: `${fixed(pCpu.cpuUsPerPacket, 2)} / ${fixed(rCpu.cpuUsPerPacket, 2)} us = ${fixed(pCpu.cpuUsPerPacket / rCpu.cpuUsPerPacket, 2)}x; drops ${percent(pCpu.dropFraction)}`,
      pass: null,
    });
  }
  const oursPeak = Math.max(...summaries.filter((s) => s.daemon === 'ours').map((s) => s.totalHwmMb));
  targets.push({
    target: `Memory: peak RSS of both our processes (raw socket) <= ${peakRss.maxMb} MB`,
    value: `${fixed(oursPeak, 1)} MB (highest over all workloads)`,
    pass: oursPeak <= peakRss.maxMb,
  });
  for (const workload of memoryFlat.workloads) {
    for (const d of DAEMON_KINDS) {
      if (!points.some((p) => p.workload === workload && p.daemon === d)) continue;
      const base = medianProcessSum(points, workload, d, null, (x) => x.hwmAfterPhaseKb[0] ?? NaN);
      const growth = medianProcessSum(points, workload, d, null, (x) => x.hwmAfterPhaseKb[1] ?? NaN) - base;
      targets.push({
        target: `Memory flat (${workload}, ${d}): peak RSS after 10^6 packets within ${memoryFlat.maxGrowth * 100}% of after 10^4`,
        value: `${fixed(base / 1024, 1)} -> ${fixed((base + growth) / 1024, 1)} MB (+${fixed(growth / 1024, 1)} MB, ${percent(growth / base)})`,
        pass: growth / base <= memoryFlat.maxGrowth,
      });
    }
  }
  const lat = latency.find((l) => l.daemon === 'ours' && l.method.startsWith('one start'));
  if (lat !== undefined) {
    const { medianBelowMs, p99BelowMs } = THRESHOLDS.latency;
    targets.push({
      target: `Latency without load: median < ${medianBelowMs} ms`,
      value: `${fixed(lat.medianUs / 1000, 3)} ms (n=${lat.logged})`,
      pass: lat.medianUs < medianBelowMs * 1000,
    });
    targets.push({
      target: `Latency without load: p99 < ${p99BelowMs} ms`,
      value: `${fixed(lat.p99Us / 1000, 3)} ms`,
      pass: lat.p99Us < p99BelowMs * 1000,
    });
  }
  return targets;
}
