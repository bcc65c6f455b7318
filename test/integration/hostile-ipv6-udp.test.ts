// Floods with --ipv6 --udp, from the load generator (harness/gen/flood.c): a million
// spoofed-source IPv6 SYNs, and a million spoofed UDP datagrams over IPv4 and IPv6;
// both processes stay up with flat memory, and a real scan is still seen after.

import type { ExecutionContext } from 'ava';
import { runIn, sleep, waitFor } from '../../harness/netns.js';
import { isAlive } from '../../harness/daemon.js';
import { startScene, type Scene } from '../../harness/testbed-daemon.js';
import { floodTarget, killStarted, type ArrivedFlood, type FloodSpec } from '../../harness/generator.js';
import { cpuTime, kernelDropsOf, memory, withKernelDrops } from '../../harness/proc.js';
import { floodTest } from '../helpers/floodgate.js';

const rootTest = floodTest('IPv6 and UDP flood tests');

const setup = (t: ExecutionContext): Promise<Scene> => startScene(t, ['--ipv6', '--udp'], { beforeKill: killStarted, ipv6: true });
const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;
/**
 * Packets per second of the floods whose packets the daemon must have seen. Unpaced, the
 * generator runs as fast as the machine lets it: on a fast machine it outran the daemon
 * and the kernel dropped about half the packets from its socket queues, so a count of
 * packets seen would measure the CPU. Paced, the count says what it should: the packets
 * reached the daemon. (How fast the daemon reads is the benchmark's to say.)
 */
const FLOOD_RATE = 200000;

/**
 * Floods with `spec(count)`: 10^4 to warm up, then 10^6; checks both processes' memory
 * between the two and that both are alive. Bad checksums keep the target from answering.
 */
async function flood(t: ExecutionContext, scene: Scene, spec: (count: number) => FloodSpec): Promise<ArrivedFlood> {
  const { capturePid, monitorPid } = await scene.daemon.ready();
  const cpu = (): number => cpuTime(capturePid).schedUs + cpuTime(monitorPid).schedUs;
  const warm = await floodTarget(scene.bed, spec(10000));
  await sleep(500);
  const cpu1 = cpu();
  const after1e4 = { capture: memory(capturePid), monitor: memory(monitorPid) };
  const big = await floodTarget(scene.bed, spec(1000000));
  await sleep(1000);
  const cpu2 = cpu();
  const after1e6 = { capture: memory(capturePid), monitor: memory(monitorPid) };
  t.log(
    `${big.mode}: sent ${warm.sent} then ${big.sent} packets (${Math.round(big.pps)} packets/s), ${big.arrived} of them reached the target's stack; ` +
      `CPU of both processes ${((cpu2 - cpu1) / big.sent).toFixed(2)} us/packet`,
  );
  for (const side of ['capture', 'monitor'] as const) {
    t.log(`${side}: RSS ${mb(after1e4[side].rssKb)} after 10^4, ${mb(after1e6[side].rssKb)} after 10^6`);
    t.true(after1e6[side].rssKb - after1e4[side].rssKb < 24 * 1024, `${side} grew by ${mb(after1e6[side].rssKb - after1e4[side].rssKb)}`);
  }
  t.true(big.sent >= 1000000, `the generator sent only ${big.sent}`);
  t.true(isAlive(capturePid) && isAlive(monitorPid));
  // The counters say the packets reached the daemon (the capture process saw them).
  const before = scene.syslog.datagrams.length;
  process.kill(capturePid, 'SIGUSR1');
  const counters = await waitFor(
    'a counters line',
    () =>
      scene.syslog
        .messages()
        .slice(before)
        .find((m) => m.startsWith('counters:')),
    5000,
  );
  const drops = kernelDropsOf(scene.bed.target, capturePid);
  t.log(`${counters}; ${drops}`);
  t.true(Number(/packets_seen=(\d+)/.exec(counters)?.[1]) >= 500000, `${counters}; ${big.arrived} arrived; ${drops}`);
  return big;
}

async function scanSeen(t: ExecutionContext, scene: Scene, nmapArgs: string[], source: RegExp): Promise<void> {
  const { capturePid } = await scene.daemon.ready();
  const before = scene.syslog.datagrams.length;
  const r = await runIn(scene.bed.scanner, 'nmap', ['-n', '-Pn', '--max-retries', '0', '--host-timeout', '30s', ...nmapArgs], 60000);
  t.is(r.code, 0, r.stderr);
  const line = await withKernelDrops(
    scene.bed.target,
    capturePid,
    waitFor(
      'the scan in syslog',
      () =>
        scene.syslog
          .messages()
          .slice(before)
          .find((m) => source.test(m)),
      15000,
    ),
  );
  t.log(line);
}

rootTest('a million spoofed-source IPv6 SYNs: both processes stay up, memory stays flat, an nmap -6 scan is seen after', async (t) => {
  const scene = await setup(t);
  const { bed } = scene;
  await flood(t, scene, (count) => ({
    mode: 'syn',
    dst: '',
    dst6: bed.targetAddr6,
    srcNet6: 'fd00:5d::',
    checksum: 'bad',
    rate: FLOOD_RATE,
    count,
    seconds: 40,
    seed: 17,
  }));
  await scanSeen(t, scene, ['-6', '-sS', '-p', '1-100', bed.targetAddr6], new RegExp(`^\\[${bed.scannerAddr6}\\]:\\d+ to `));
});

rootTest(
  'a million spoofed UDP datagrams (IPv4, then 10^5 over IPv6): both processes stay up, memory stays flat, nmap -sU is seen after',
  async (t) => {
    const scene = await setup(t);
    const { bed } = scene;
    await flood(t, scene, (count) => ({
      mode: 'udp',
      dst: bed.targetAddr,
      srcNet: '198.19.0.0/16',
      checksum: 'bad',
      rate: FLOOD_RATE,
      count,
      seconds: 40,
      seed: 19,
    }));
    const six = await floodTarget(bed, {
      mode: 'udp',
      dst: '',
      dst6: bed.targetAddr6,
      srcNet6: 'fd00:5d::',
      checksum: 'bad',
      rate: FLOOD_RATE,
      count: 100000,
      seconds: 20,
      seed: 23,
    });
    t.true(six.sent >= 100000);
    await sleep(4000);
    await scanSeen(t, scene, ['-sU', '-p', '1-40', bed.targetAddr], new RegExp(`^${bed.scannerAddr.replace(/\./g, '\\.')}:\\d+ to .* UDP`));
  },
);
