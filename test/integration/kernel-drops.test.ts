// Packets the kernel drops before the daemon reads them, counted: the capture process is
// stopped (SIGSTOP) during a flood so that its queues overflow for certain, whatever the
// CPU, and the counters line must then say what the kernel says it dropped, per socket.

import type { ExecutionContext } from 'ava';
import { sleep, waitFor, type Testbed } from '../../harness/netns.js';
import { SYSLOG_PREFIX, type SyslogListener } from '../../harness/syslog.js';
import { isAlive, signalIfAlive } from '../../harness/daemon.js';
import { startScene } from '../../harness/testbed-daemon.js';
import { floodTarget, killStarted, spoofedSyns, type FloodSpec } from '../../harness/generator.js';
import { rawSocketsByLane } from '../../harness/proc.js';
import { floodTest } from '../helpers/floodgate.js';

const rootTest = floodTest('kernel drop tests');

/** Far more than a stopped reader's queue holds: the 16 MB socket buffer or the 8 MB ring takes tens of thousands. */
const FLOOD = 200000;

const syn4 = (bed: Testbed, count: number, rate: number, seed: number): FloodSpec => spoofedSyns(bed, { count, rate, seconds: 20, seed });

const udp6 = (bed: Testbed, count: number, rate: number, seed: number): FloodSpec => ({
  mode: 'udp',
  dst: bed.targetAddr,
  dst6: bed.targetAddr6,
  srcNet6: 'fd00:5d::',
  checksum: 'good',
  rate,
  count,
  seconds: 20,
  seed,
});

/** Asks for the counters (SIGUSR1 to the capture process) and reads the line that follows. */
async function counters(syslog: SyslogListener, capturePid: number): Promise<Record<string, number>> {
  const before = syslog.datagrams.length;
  process.kill(capturePid, 'SIGUSR1');
  return waitFor('a counters line', () => {
    const line = syslog.datagrams.slice(before).find((d) => SYSLOG_PREFIX.exec(d)?.[1] === '30' && d.includes('counters: '));
    return line === undefined
      ? undefined
      : Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1] as string, Number(m[2])]));
  });
}

/** Stops the capture process for the length of `during`, then lets it drain. */
async function stopped<T>(t: ExecutionContext, capturePid: number, during: () => Promise<T>): Promise<T> {
  process.kill(capturePid, 'SIGSTOP');
  let resumed = false;
  t.teardown(() => {
    if (!resumed) signalIfAlive(capturePid, 'SIGCONT');
  });
  try {
    return await during();
  } finally {
    process.kill(capturePid, 'SIGCONT');
    resumed = true;
    await sleep(1500);
  }
}

rootTest(
  "raw socket: a flood past a stopped capture process; the counters line's kernel_drops is the kernel's count in /proc/net/raw",
  async (t) => {
    const { bed, syslog, daemon } = await startScene(t, [], { beforeKill: killStarted });
    const { capturePid, monitorPid } = await daemon.ready();
    const start = await counters(syslog, capturePid);
    t.is(start['kernel_drops'], 0);
    const flood = await stopped(t, capturePid, () => floodTarget(bed, syn4(bed, FLOOD, 0, 3)));
    // The kernel gives its count with a packet: a few after the drops carry the final one.
    const tail = await floodTarget(bed, syn4(bed, 100, 1000, 4));
    await sleep(500);
    const kernel = rawSocketsByLane(bed.target, capturePid).get('tcp4');
    const end = await counters(syslog, capturePid);
    t.log(
      `sent ${flood.sent}, ${flood.arrived} reached the stack; counters: ${JSON.stringify(end)}; /proc/net/raw: ${JSON.stringify(kernel)}`,
    );
    t.true((kernel?.drops ?? 0) > 0, 'the kernel dropped packets while the capture process was stopped');
    t.is(end['kernel_drops'], kernel?.drops);
    // Every packet that reached the stack was either read or dropped by the kernel.
    t.is(
      (end['packets_seen'] as number) - (start['packets_seen'] as number) + (end['kernel_drops'] as number),
      flood.arrived + tail.arrived,
    );
    t.is(end['kernel_drops_tcp4'], undefined, 'one socket: the total alone');

    process.kill(capturePid, 'SIGTERM');
    await daemon.exited;
    t.regex(daemon.stderr(), new RegExp(`scanlogd capture: raw socket: ${kernel?.drops} packets dropped by the kernel\\n`));
    t.false(isAlive(monitorPid));
  },
);

rootTest(
  '--ipv6 --udp: each raw socket counts its own kernel drops, equal to /proc/net/raw and raw6, in the line and the stop line',
  async (t) => {
    const { bed, syslog, daemon } = await startScene(t, ['--ipv6', '--udp'], { beforeKill: killStarted, ipv6: true });
    const { capturePid } = await daemon.ready();
    await stopped(t, capturePid, async () => {
      await floodTarget(bed, syn4(bed, FLOOD, 0, 5));
      await floodTarget(bed, udp6(bed, FLOOD, 0, 6));
    });
    await floodTarget(bed, syn4(bed, 100, 1000, 7));
    await floodTarget(bed, udp6(bed, 100, 1000, 8));
    await sleep(500);
    const kernel = rawSocketsByLane(bed.target, capturePid);
    const end = await counters(syslog, capturePid);
    t.log(`counters: ${JSON.stringify(end)}; kernel: ${JSON.stringify([...kernel])}`);
    t.deepEqual([...kernel.keys()].sort(), ['tcp4', 'tcp6', 'udp4', 'udp6']);
    t.true((kernel.get('tcp4')?.drops ?? 0) > 0 && (kernel.get('udp6')?.drops ?? 0) > 0, 'both flooded sockets overflowed');
    let total = 0;
    for (const [lane, state] of kernel) {
      t.is(end[`kernel_drops_${lane}`], state.drops, lane);
      total += state.drops;
    }
    t.is(end['kernel_drops'], total);

    process.kill(capturePid, 'SIGTERM');
    await daemon.exited;
    const each = ['tcp4', 'udp4', 'tcp6', 'udp6'].map((lane) => `${lane} ${kernel.get(lane)?.drops}`).join(', ');
    t.true(daemon.stderr().includes(`scanlogd capture: raw sockets: ${total} packets dropped by the kernel (${each})\n`), daemon.stderr());
  },
);

rootTest(
  "libpcap: a flood past a stopped capture process; kernel_drops is pcap_stats' count, and read plus dropped is what passed the filter",
  async (t) => {
    const { bed, syslog, daemon } = await startScene(t, (b) => ['--interface', b.targetDev], { beforeKill: killStarted });
    const { capturePid } = await daemon.ready();
    const start = await counters(syslog, capturePid);
    const flood = await stopped(t, capturePid, () => floodTarget(bed, syn4(bed, FLOOD, 0, 9)));
    const tail = await floodTarget(bed, syn4(bed, 100, 1000, 10));
    await sleep(500);
    const end = await counters(syslog, capturePid);
    process.kill(capturePid, 'SIGTERM');
    await daemon.exited;
    const stats = /libpcap on \S+: (\d+) packets passed the kernel filter, (\d+) dropped by the kernel/.exec(daemon.stderr());
    t.log(`sent ${flood.sent}, ${flood.arrived} reached the stack; counters: ${JSON.stringify(end)}; ${stats?.[0]}`);
    t.not(stats, null, daemon.stderr());
    const [passed, dropped] = [Number(stats?.[1]), Number(stats?.[2])];
    t.true(dropped > 0, 'the ring overflowed while the capture process was stopped');
    t.is(end['kernel_drops'], dropped);
    // The packet socket's own count: every frame that passed the filter was read or
    // dropped, but for one. The kernel counts one frame more than it hands over once its
    // ring has filled (in every run here, however long the wait and whatever followed).
    const read = end['packets_seen'] as number;
    t.true(passed - (read + dropped) >= 0 && passed - (read + dropped) <= 1, `${read} read + ${dropped} dropped, ${passed} passed`);
    t.true(flood.arrived + tail.arrived - (read - (start['packets_seen'] as number) + dropped) <= 1);
  },
);
