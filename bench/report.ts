// The benchmark's plain-text report: the machine, the table of medians, memory,
// latency, the ratios ours/reference and the targets; and the progress line of a point.

import { DAEMON_KINDS, isOurs, type DaemonKind } from './daemons.js';
import type { Calibration } from './calibration.js';
import type { LatencyResult } from './latency.js';
import type { PointResult, ProcessFigures } from './point.js';
import { fixed, kilo, median, percent, ratio, table } from './stats.js';
import { medianProcessSum, type Summary } from './summary.js';
import type { Target } from './targets.js';
import { NOISE, THRESHOLDS } from './workloads.js';

/** One line on stderr per measured point, while the run goes on. */
export function pointLine(label: string, kind: DaemonKind, p: PointResult): string {
  return (
    `${label.padEnd(28)} ${kind.padEnd(10)} ${kilo(p.generatorPps).padStart(5)} pps  drops ${percent(p.dropFraction).padStart(7)}  ` +
    `${fixed(p.cpuUsPerPacket, 2)} us/pkt  RSS ${fixed(p.totalHwmKb / 1024, 1)} MB  other load ${percent(p.otherLoad)}` +
    (p.hiddenScanLogged === null
      ? ''
      : `  nmap ${p.hiddenScanLogged ? 'logged' : 'NOT logged'} (${fixed(p.nmap?.seconds ?? NaN, 1)} s${p.nmap?.insideLoad === false ? ', outlasted the load' : ''})`)
  );
}

function memoryRows(points: PointResult[], workload: string): string[][] {
  const rows: string[][] = [];
  for (const d of DAEMON_KINDS) {
    const mem = points.filter((p) => p.workload === workload && p.daemon === d);
    const roles = mem[0]?.processes.map((p) => p.role) ?? [];
    for (const role of roles.length > 1 ? [...roles, null] : roles) {
      const mb = (pick: (x: ProcessFigures) => number): number => medianProcessSum(points, workload, d, role, pick) / 1024;
      const small = mb((x) => x.hwmAfterPhaseKb[0] ?? NaN);
      const large = mb((x) => x.hwmAfterPhaseKb[1] ?? NaN);
      rows.push([
        d,
        role ?? 'both',
        fixed(small, 1),
        fixed(large, 1),
        fixed(large - small, 1),
        fixed(
          mb((x) => x.pssKb),
          1,
        ),
      ]);
    }
  }
  return rows;
}

export function report(
  summaries: Summary[],
  points: PointResult[],
  latency: LatencyResult[],
  targets: Target[],
  calibration: Calibration[],
  info: Record<string, string | number>,
  reps: number,
  oursNodeArgs: string[],
  noisyPairs: number,
): string {
  const out: string[] = [];
  out.push(
    `Machine: ${info['nproc']} CPUs, ${info['cpuModel']}, Linux ${info['kernel']}, node ${info['node']}; load average at start ${info['loadAverageAtStart']}`,
  );
  out.push(
    `Generator ceiling, nothing listening: ${calibration.map((c) => `${c.transport}/${c.checksum} checksum ${kilo(c.pps)} pps`).join(', ')}`,
  );
  out.push(`Medians of ${reps} run(s) per row; drops = socket drops (/proc/net/raw) + records our capture process dropped;`);
  out.push('ours = raw socket, ours/pcap = libpcap on the target device (--interface); its socket drops are the kernel');
  out.push('drops libpcap reports at stop. delivered = IP packets the target stack delivered; CPU us/pkt = CPU of the');
  out.push("daemon's processes / (delivered - socket drops), so packets a kernel filter rejects count and cost nothing.");
  out.push('other load = share of all CPUs used by anything but the daemon and the generator meanwhile (noise;');
  out.push(`a pair above ${percent(NOISE.otherLoad)} is measured again while time allows: ${noisyPairs} pair(s) redone this run).`);
  if (oursNodeArgs.length > 0) out.push(`Our capture process was started as: node ${oursNodeArgs.join(' ')} bin/scanlogd.js`);
  out.push('');
  out.push(
    table(
      [
        'workload',
        'daemon',
        'offered',
        'pps',
        'delivered',
        'sock drops',
        'chan drops',
        'drop %',
        'CPU us/pkt',
        'peak RSS MB',
        'nmap logged',
        'other load',
      ],
      summaries.map((s) => [
        s.label,
        s.daemon,
        kilo(s.offered),
        kilo(s.generatorPps),
        kilo(s.delivered),
        String(Math.round(s.socketDrops)),
        isOurs(s.daemon) ? String(Math.round(s.channelDrops)) : '-',
        percent(s.dropFraction),
        fixed(s.cpuUsPerPacket, 2),
        `${Object.values(s.hwmMb)
          .map((m) => fixed(m, 1))
          .join('+')}${Object.keys(s.hwmMb).length > 1 ? `=${fixed(s.totalHwmMb, 1)}` : ''}`,
        s.hiddenScanLogged ?? '',
        percent(s.otherLoad).replace(/\.\d+%/, '%'),
      ]),
    ),
  );
  for (const workload of THRESHOLDS.memoryFlat.workloads) {
    const memory = memoryRows(points, workload);
    if (memory.length === 0) continue;
    out.push('');
    out.push(
      `Memory, workload ${workload} (W1 SYN flood at 300k/s${workload === 'MEM' ? '' : ', --slow-scans'}): peak RSS after 10^4 and after 10^6 packets; PSS at the end`,
    );
    out.push('(PSS shares the node binary, mapped by both our processes, between them; RSS counts it in each):');
    out.push(table(['daemon', 'process', 'peak RSS 10^4 MB', 'peak RSS 10^6 MB', 'growth MB', 'PSS MB'], memory));
  }
  if (latency.length > 0) {
    out.push('');
    out.push('Detection latency, threshold-crossing packet sent -> syslog datagram received, no load:');
    out.push(
      table(
        ['daemon', 'method', 'logged/sent', 'median ms', 'p99 ms', 'max ms'],
        latency.map((l) => [
          l.daemon,
          l.method,
          `${l.logged}/${l.sent}`,
          fixed(l.medianUs / 1000, 3),
          fixed(l.p99Us / 1000, 3),
          fixed(l.maxUs / 1000, 3),
        ]),
      ),
    );
  }
  const workloadsSeen = [...new Set(summaries.map((s) => s.workload))];
  if (summaries.some((s) => s.daemon === 'reference')) {
    out.push('', 'Ratios ours/reference:');
    out.push(
      table(['workload', 'ours', 'drop fraction', 'CPU us/pkt', 'peak RSS (all processes)'], referenceRatioRows(summaries, workloadsSeen)),
    );
  }
  const pairs: Array<{ kind: DaemonKind; over: DaemonKind; title: string }> = [
    { kind: 'ours', over: 'baseline', title: 'Ours against the baseline build (--baseline), the same packets in the same run:' },
    {
      kind: 'ours/slow',
      over: 'ours',
      title: 'The second stage on (ours/slow: ours with --slow-scans) against ours, the same packets in the same run:',
    },
  ];
  for (const { kind, over, title } of pairs) {
    const rows = pairRows(summaries, points, kind, over);
    if (rows.length === 0) continue;
    out.push('', title);
    out.push(
      table(
        [
          'workload',
          `CPU us/pkt ${kind}`,
          `CPU us/pkt ${over}`,
          `${kind}/${over}`,
          `each run, ${kind}`,
          `each run, ${over}`,
          `capture+monitor ${kind}`,
          `capture+monitor ${over}`,
          `drops ${kind}/${over}`,
        ],
        rows,
      ),
    );
  }
  const lo = latency.find((l) => l.daemon === 'ours' && l.method.startsWith('fresh'));
  const lr = latency.find((l) => l.daemon === 'reference');
  if (lo !== undefined && lr !== undefined) {
    out.push(
      `Latency, fresh start per burst (same method): median ${ratio(lo.medianUs, lr.medianUs, 1)}, p99 ${ratio(lo.p99Us, lr.p99Us, 1)}`,
    );
  }
  out.push('');
  out.push('Targets (issues 5 and 6):');
  out.push(
    table(
      ['target', 'measured', 'holds'],
      targets.map((t) => [t.target, t.value, t.pass === null ? 'info' : t.pass ? 'yes' : 'NO']),
    ),
  );
  return out.join('\n');
}

/**
 * Per workload: the medians of daemon `kind` and of daemon `over`, their ratio, every
 * run's figure, and the medians of each process's share, so that a change is read in the
 * process where it lands.
 */
function pairRows(summaries: Summary[], points: PointResult[], kind: DaemonKind, over: DaemonKind): string[][] {
  return [...new Set(summaries.map((s) => s.workload))].flatMap((w) => {
    const k = summaries.find((s) => s.workload === w && s.daemon === kind);
    const o = summaries.find((s) => s.workload === w && s.daemon === over);
    if (k === undefined || o === undefined) return [];
    const runs = (d: DaemonKind): PointResult[] => points.filter((p) => p.workload === w && p.daemon === d);
    const each = (d: DaemonKind): string =>
      runs(d)
        .map((p) => fixed(p.cpuUsPerPacket, 2))
        .join(' ');
    const split = (d: DaemonKind): string =>
      ['capture', 'monitor']
        .map((role) => fixed(median(runs(d).map((p) => (p.processes.find((x) => x.role === role)?.cpuStatUs ?? NaN) / p.received)), 2))
        .join('+');
    return [
      [
        k.label,
        fixed(k.cpuUsPerPacket, 2),
        fixed(o.cpuUsPerPacket, 2),
        ratio(k.cpuUsPerPacket, o.cpuUsPerPacket),
        each(kind),
        each(over),
        split(kind),
        split(over),
        `${percent(k.dropFraction)} / ${percent(o.dropFraction)}`,
      ],
    ];
  });
}

/** Per workload and each of our daemons: its figures over the reference's. */
function referenceRatioRows(summaries: Summary[], workloads: string[]): string[][] {
  return workloads.flatMap((w) =>
    DAEMON_KINDS.filter(isOurs).flatMap((kind) => {
      const o = summaries.find((s) => s.workload === w && s.daemon === kind);
      const r = summaries.find((s) => s.workload === w && s.daemon === 'reference');
      if (o === undefined || r === undefined) return [];
      return [
        [
          o.label,
          kind,
          ratio(o.dropFraction, r.dropFraction),
          ratio(o.cpuUsPerPacket, r.cpuUsPerPacket),
          ratio(o.totalHwmMb, r.totalHwmMb, 0),
        ],
      ];
    }),
  );
}
