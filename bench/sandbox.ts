// What the sandboxes cost per packet: this tree's daemon against a baseline build (the
// same daemon without them, e.g. the commit before they came) under the same SYN flood,
// alternating in one run on one test bed, so that the ratio is measured on the same
// machine state. CPU is both processes' (stat utime + stime), per packet the raw socket
// received.
//
//   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npm run build)
//   npm run bench:sandbox -- --baseline "$(cd /tmp/base && sh scripts/stage.sh)"

import fs = require('node:fs');
import path = require('node:path');
import { createTestbed, sleep } from '../harness/netns.js';
import { startOurs } from '../harness/daemon.js';
import { listenSyslog, makeSocketDir } from '../harness/syslog.js';
import { buildGenerator, killStarted, runFlood } from '../harness/generator.js';
import { cpuTime, rawSocketOf } from '../harness/proc.js';
import { FLOOD_SOURCES } from './workloads.js';
import { median } from './stats.js';

interface Options {
  baseline: string;
  rate: number;
  seconds: number;
  reps: number;
}

function parse(argv: string[]): Options {
  const o: Partial<Options> = { rate: 200000, seconds: 6, reps: 5 };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (name === '--baseline' && value !== undefined) o.baseline = path.resolve(value);
    else if (name === '--rate' && value !== undefined) o.rate = Math.min(1_000_000, Math.max(1000, Number(value)));
    else if (name === '--seconds' && value !== undefined) o.seconds = Math.min(30, Math.max(1, Number(value)));
    else if (name === '--reps' && value !== undefined) o.reps = Math.min(9, Math.max(1, Number(value)));
    else {
      process.stderr.write('usage: node dist/bench/sandbox.js --baseline ENTRY_SCRIPT [--rate PPS] [--seconds N] [--reps N]\n');
      process.exit(2);
    }
  }
  if (o.baseline === undefined || !fs.existsSync(o.baseline)) {
    process.stderr.write(
      'bench:sandbox: --baseline must name the entry script of a built baseline (its bin/scanlogd.js as scripts/stage.sh prints it)\n',
    );
    process.exit(2);
  }
  return o as Options;
}

interface Run {
  variant: string;
  cpuUsPerPacket: number;
  received: number;
  dropFraction: number;
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  buildGenerator();
  const variants = [
    { variant: 'sandboxed (this tree)', entry: undefined },
    { variant: 'baseline', entry: options.baseline },
  ];
  const bed = createTestbed();
  const dir = makeSocketDir();
  const syslog = listenSyslog(path.join(dir, 'log'));
  const runs: Run[] = [];
  try {
    for (let rep = 0; rep < options.reps; rep++) {
      for (const v of rep % 2 === 0 ? variants : [...variants].reverse()) {
        const d = startOurs(bed, ['--foreground', '--syslog-socket', syslog.path], { entry: v.entry });
        try {
          const { capturePid, monitorPid } = await d.ready();
          await sleep(300);
          const cpu = (): number => cpuTime(capturePid).statUs + cpuTime(monitorPid).statUs;
          const socket = (): { drops: number } => rawSocketOf(bed.target, capturePid);
          const [cpuBefore, dropsBefore] = [cpu(), socket().drops];
          const flood = await runFlood(bed.scanner, {
            mode: 'syn',
            dst: bed.targetAddr,
            rate: options.rate,
            count: options.rate * options.seconds,
            seconds: options.seconds + 5,
            seed: rep + 1,
            srcNet: FLOOD_SOURCES,
            checksum: 'bad',
          });
          await sleep(500);
          const drops = socket().drops - dropsBefore;
          const received = flood.sent - drops;
          const run = { variant: v.variant, cpuUsPerPacket: (cpu() - cpuBefore) / received, received, dropFraction: drops / flood.sent };
          runs.push(run);
          process.stdout.write(
            `rep ${rep + 1} ${run.variant}: ${run.cpuUsPerPacket.toFixed(3)} us/packet, ${received} received, ${(run.dropFraction * 100).toFixed(2)}% dropped\n`,
          );
        } finally {
          await d.kill();
        }
      }
    }
  } finally {
    killStarted();
    syslog.close();
    bed.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const per = (variant: string): Run[] => runs.filter((r) => r.variant === variant);
  const [ours, base] = variants.map((v) => median(per(v.variant).map((r) => r.cpuUsPerPacket)));
  process.stdout.write(`\nSYN flood at ${options.rate} packets/s for ${options.seconds} s, ${options.reps} runs each, alternating\n`);
  for (const v of variants) {
    const r = per(v.variant);
    process.stdout.write(
      `${v.variant.padEnd(24)} CPU ${median(r.map((x) => x.cpuUsPerPacket)).toFixed(3)} us/packet (median), dropped ${(median(r.map((x) => x.dropFraction)) * 100).toFixed(2)}%\n`,
    );
  }
  process.stdout.write(`ratio sandboxed / baseline: ${((ours as number) / (base as number)).toFixed(3)}\n`);
}

main().catch((err) => {
  killStarted();
  process.stderr.write(`bench:sandbox: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
