// The libpcap backend (--interface) in a real namespace pair: it sees scans that the
// host firewall drops, which the raw socket (and the reference scanlogd) cannot; its
// kernel filter's effects, each shown against the raw socket; Ethernet, cooked
// capture (`any`) and loopback; GC; the privilege drop. (VLAN frames are covered by
// unit tests only: this kernel has no 802.1Q module.)

import test, { type ExecutionContext } from 'ava';
import fs = require('node:fs');
import path = require('node:path');
import { createTestbed, isRoot, runIn, sh, sleep, waitFor, type Testbed } from '../../harness/netns.js';
import { listenSyslog, makeSocketDir, type SyslogListener } from '../../harness/syslog.js';
import { readStatus, startOurs, startReference, userIds, type OurDaemon } from '../../harness/daemon.js';
import { packetSocketsOf } from '../../harness/proc.js';
import { sendPackets, sendPrimer } from '../helpers/capture.js';
import { forgiveBoundaryStamps } from '../helpers/stamps.js';
import type { PacketSpec } from '../helpers/send-packets.js';

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('libpcap integration tests skipped: they need root for network namespaces and packet capture');

const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;

interface Watcher {
  daemon: OurDaemon;
  syslog: SyslogListener;
}

interface Bench {
  bed: Testbed;
  /** One daemon per entry, each with its own syslog socket, all in the target namespace. */
  watchers: Watcher[];
  reference: SyslogListener | null;
}

/** Starts our daemon once per argument list (and the reference if asked) in one testbed. */
async function startWatchers(
  t: ExecutionContext,
  argLists: (bed: Testbed) => string[][],
  options: { reference?: boolean; nodeArgs?: string[]; before?: (bed: Testbed) => void } = {},
): Promise<Bench> {
  const bed = createTestbed();
  const dir = makeSocketDir();
  const nodeArgs = options.nodeArgs ?? [];
  try {
    options.before?.(bed);
  } catch (err) {
    bed.destroy();
    throw err;
  }
  const watchers: Watcher[] = argLists(bed).map((args, i) => {
    const syslog = listenSyslog(path.join(dir, `log${i}`));
    return { syslog, daemon: startOurs(bed, ['--foreground', '--syslog-socket', syslog.path, ...args], { nodeArgs }) };
  });
  const reference = options.reference === true ? listenSyslog(path.join(dir, 'reference')) : null;
  let referenceDaemon: Awaited<ReturnType<typeof startReference>> | null = null;
  t.teardown(async () => {
    try {
      for (const w of watchers) await w.daemon.kill();
      await referenceDaemon?.stop();
    } finally {
      for (const w of watchers) w.syslog.close();
      reference?.close();
      bed.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  if (reference !== null) referenceDaemon = await startReference(bed, reference.path);
  for (const w of watchers) await w.daemon.ready();
  return { bed, watchers, reference };
}

const pcapOn = (dev: string): string[] => ['--interface', dev];

/** By path: under npm, node_modules/.bin has an unrelated `nft` (a file tracer). */
const NFT = '/usr/sbin/nft';

/** Drops TCP to ports 1-1000 in the target's input chain, as a hardened host would. */
function dropPorts(bed: Testbed): void {
  const ruleset = [
    'table inet scanlogd_test {',
    '  chain input { type filter hook input priority 0; policy accept; tcp dport 1-1000 counter drop; }',
    '}',
  ].join('\n');
  sh('ip', ['netns', 'exec', bed.target, NFT, '-f', '-'], { input: ruleset });
}

async function nmapSyn(bed: Testbed, ports = '1-100'): Promise<void> {
  const r = await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', ports, bed.targetAddr]);
  if (r.code !== 0) throw new Error(`nmap: ${r.stderr}`);
}

const escape = (s: string): string => s.replace(/\./g, '\\.');
const scanLine = (bed: Testbed): RegExp => new RegExp(`^${escape(bed.scannerAddr)}:\\d+ to ${escape(bed.targetAddr)} ports \\d+, `);

/** Waits for `count` lines on each listener, then a quiet period for any extra. */
async function settle(listeners: SyslogListener[], count: number): Promise<void> {
  if (count > 0) {
    await waitFor(`${count} lines from each`, () => (listeners.every((l) => l.datagrams.length >= count) ? true : undefined), 8000);
  }
  await sleep(700);
}

const lines = (w: Watcher | SyslogListener): string[] => ('syslog' in w ? w.syslog : w).messages();

rootTest('firewall drops the scanned ports: libpcap logs the SYN scan; the raw socket and scanlogd 2.2.8 log nothing', async (t) => {
  const { bed, watchers, reference } = await startWatchers(t, (b) => [[], pcapOn(b.targetDev), pcapOn('any')], {
    reference: true,
    before: dropPorts,
  });
  const [raw, device, any] = watchers as [Watcher, Watcher, Watcher];
  await sendPrimer(bed);
  await nmapSyn(bed);
  await settle([device.syslog, any.syslog], 1);
  t.log(`libpcap on ${bed.targetDev}: ${lines(device).join(' | ')}`);
  t.is(lines(device).length, 1);
  t.regex(lines(device)[0] as string, scanLine(bed));
  // On `any` the same packets give the same line.
  sameLines(t, lines(any), lines(device));
  t.deepEqual(lines(raw), []);
  t.deepEqual(lines(reference as SyslogListener), []);
  // The rule really dropped them: the kernel counted no reply.
  const counters = sh('ip', ['netns', 'exec', bed.target, NFT, 'list', 'table', 'inet', 'scanlogd_test']);
  t.log(counters);
  t.regex(counters, /tcp dport 1-1000 counter packets [1-9]\d* bytes \d+ drop/);
});

rootTest('nothing dropped: both backends and scanlogd 2.2.8 log the same SYN scan line', async (t) => {
  const { bed, watchers, reference } = await startWatchers(t, (b) => [[], pcapOn(b.targetDev)], { reference: true });
  const [raw, device] = watchers as [Watcher, Watcher];
  await sendPrimer(bed);
  await nmapSyn(bed);
  await settle([raw.syslog, device.syslog, reference as SyslogListener], 1);
  t.is(lines(raw).length, 1);
  t.regex(lines(raw)[0] as string, scanLine(bed));
  sameLines(t, lines(device), lines(raw));
  sameLines(t, lines(reference as SyslogListener), lines(raw));
});

rootTest('on `any` (Linux cooked capture) nothing is lost at start: the first packet counts', async (t) => {
  const { bed, watchers } = await startWatchers(t, () => [[], pcapOn('any')]);
  const [raw, any] = watchers as [Watcher, Watcher];
  // Exactly the threshold: seven privileged ports, no primer. One packet fewer and
  // there would be no line.
  await sendPackets(bed, sweep(bed, [21, 22, 23, 24, 25, 26, 27]));
  await settle([raw.syslog, any.syslog], 1);
  t.is(lines(raw).length, 1);
  sameLines(t, lines(any), lines(raw));
});

rootTest('on a device, libpcap loses the first packet its kernel filter passes (documented; tests send a primer)', async (t) => {
  const { bed, watchers } = await startWatchers(t, (b) => [[], pcapOn(b.targetDev)]);
  const [raw, device] = watchers as [Watcher, Watcher];
  await sendPackets(bed, sweep(bed, [21, 22, 23, 24, 25, 26, 27]));
  await settle([raw.syslog], 1);
  t.is(lines(raw).length, 1);
  // libpcap 1.10 filters the first frame after pcap_setfilter in user space, where
  // the `inbound` test rejects everything: six ports remain, one short of a scan.
  t.deepEqual(lines(device), []);
  // From then on every packet is seen.
  await sendPackets(bed, sweep(bed, [28]));
  await settle([device.syslog], 1);
  t.is(lines(device).length, 1);
  t.regex(lines(device)[0] as string, / ports 22, 23, 24, 25, 26, 27, \.\.\., /);
});

/**
 * Two daemons' lines for the same packets are the same. Each daemon reads the wall clock
 * itself (libpcap's reader and the raw socket's at different moments, the reference with
 * time(2)), so a start stamp one second apart either way, at a second boundary, is
 * forgiven and logged; every other byte must match.
 */
function sameLines(t: ExecutionContext, actual: string[], expected: string[]): void {
  const { lines: compared, forgiven } = forgiveBoundaryStamps(actual, expected, [-1, 1]);
  if (forgiven.length > 0) t.log(`start stamp one second apart, at a second boundary:\n${forgiven.join('\n')}`);
  t.deepEqual(compared, expected);
}

/** SYNs from the scanner's address, source port 40000, 5 ms apart. */
function sweep(bed: Testbed, ports: number[], flags = SYN): PacketSpec[] {
  return ports.map((dport) => ({ src: bed.scannerAddr, dst: bed.targetAddr, sport: 40000, dport, flags, delayMs: 5 }));
}

rootTest('ACK and PSH+ACK to ports already in a scan change its flags on the raw socket; libpcap never sees them', async (t) => {
  const { bed, watchers, reference } = await startWatchers(t, (b) => [[], pcapOn(b.targetDev)], { reference: true });
  const [raw, device] = watchers as [Watcher, Watcher];
  await sendPrimer(bed);
  await sendPackets(bed, [...sweep(bed, [1, 2, 3]), ...sweep(bed, [1], ACK), ...sweep(bed, [2], PSH | ACK), ...sweep(bed, [4, 5, 6, 7])]);
  await settle([raw.syslog, device.syslog, reference as SyslogListener], 1);
  t.log(`raw socket: ${lines(raw).join('')}`);
  t.log(`libpcap:    ${lines(device).join('')}`);
  // The raw socket sees the ACKs, as scanlogd 2.2.8 does: SYN, PSH and ACK changed.
  sameLines(t, lines(raw), lines(reference as SyslogListener));
  t.regex(lines(raw)[0] as string, / ports 1, 2, 3, 4, 5, 6, \.\.\., f\?r\?\?uxy, /);
  // The kernel filter dropped both: the flags are those of the SYNs alone.
  sameLines(
    t,
    lines(device),
    lines(raw).map((l) => l.replace('f?r??uxy', 'fSrpauxy')),
  );
});

rootTest("the host's own outgoing connections are not a scan: libpcap captures inbound packets only", async (t) => {
  const { bed, watchers } = await startWatchers(t, (b) => [[], pcapOn(b.targetDev), pcapOn('any')]);
  // The target scans the scanner: 100 outgoing SYNs from the target's address, which
  // a capture of both directions would log as a scan by this host.
  const r = await runIn(bed.target, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1-100', bed.scannerAddr]);
  t.is(r.code, 0, r.stderr);
  await settle([], 0);
  for (const w of watchers) t.deepEqual(lines(w), []);
  // The same handles do see inbound scans.
  await sendPrimer(bed);
  await nmapSyn(bed);
  await settle(
    watchers.map((w) => w.syslog),
    1,
  );
  for (const w of watchers) t.regex(lines(w)[0] as string, scanLine(bed));
});

rootTest('loopback: libpcap on lo logs the same line as the raw socket for a scan of 127.0.0.1', async (t) => {
  const { bed, watchers } = await startWatchers(t, () => [[], pcapOn('lo')]);
  const [raw, lo] = watchers as [Watcher, Watcher];
  // The primer for lo: an ACK+RST on loopback that every scanlogd ignores.
  const sender = path.join(__dirname, '..', 'helpers', 'send-packets.js');
  const primer = [{ src: '127.0.0.1', dst: '127.0.0.1', sport: 9, dport: 9, flags: 0x14 }];
  t.is((await runIn(bed.target, process.execPath, [sender, JSON.stringify(primer)])).code, 0);
  await sleep(100);
  const r = await runIn(bed.target, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1-100', '127.0.0.1']);
  t.is(r.code, 0, r.stderr);
  await settle([raw.syslog, lo.syslog], 1);
  t.is(lines(raw).length, 1);
  t.regex(lines(raw)[0] as string, /^127\.0\.0\.1:\d+ to 127\.0\.0\.1 ports /);
  // One line with the same ports: loopback packets are seen once, not on the way
  // out and again on the way in.
  sameLines(t, lines(lo), lines(raw));
});

rootTest('libpcap: capture keeps working under constant garbage collection (the session stays referenced)', async (t) => {
  const { bed, watchers } = await startWatchers(t, (b) => [pcapOn(b.targetDev)], { nodeArgs: ['--gc-interval=100'] });
  const [device] = watchers as [Watcher];
  await sendPrimer(bed);
  await nmapSyn(bed, '1-300');
  await settle([device.syslog], 1);
  await sleep(3000); // the source goes stale, so the next scan is a new one
  const r = await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sF', '--max-retries', '0', '-p', '1-300', bed.targetAddr]);
  t.is(r.code, 0, r.stderr);
  await settle([device.syslog], 2);
  t.is(lines(device).length, 2);
  for (const m of lines(device)) t.regex(m, scanLine(bed));
});

rootTest('libpcap: the capture process holds the packet socket after the drop (no capabilities, chrooted); the monitor none', async (t) => {
  const { watchers } = await startWatchers(t, (b) => [pcapOn(b.targetDev)]);
  const { capturePid, monitorPid } = await (watchers[0] as Watcher).daemon.ready();
  const { uid } = userIds('scanlogd');
  const status = readStatus(capturePid);
  t.deepEqual(status?.uid, [uid, uid, uid, uid]);
  t.is(status?.capEff, '0000000000000000');
  t.is(fs.readlinkSync(`/proc/${capturePid}/root`), '/var/empty');
  t.is(packetSocketsOf(capturePid).length, 1);
  t.deepEqual(packetSocketsOf(monitorPid), []);
  // libpcap was loaded before the drop (nothing can be loaded after the chroot).
  t.regex(fs.readFileSync(`/proc/${capturePid}/maps`, 'utf8'), /libpcap\.so/);
});

rootTest(
  'libpcap with --slow-scans: after the drop the capture process holds exactly two packet sockets (the device and its answers), with --ipv6 --udp too; the monitor none',
  async (t) => {
    const { watchers } = await startWatchers(t, (b) => [
      [...pcapOn(b.targetDev), '--slow-scans'],
      [...pcapOn(b.targetDev), '--slow-scans', '--ipv6', '--udp'],
    ]);
    for (const watcher of watchers) {
      const { capturePid, monitorPid } = await watcher.daemon.ready();
      t.is(readStatus(capturePid)?.capEff, '0000000000000000');
      t.is(packetSocketsOf(capturePid).length, 2);
      t.deepEqual(packetSocketsOf(monitorPid), []);
    }
  },
);

rootTest('--promisc puts the device in promiscuous mode; without it the device stays as it was', async (t) => {
  // A plain libpcap daemon on the device first: it must leave the device as it is.
  const { bed } = await startWatchers(t, (b) => [pcapOn(b.targetDev)]);
  const promiscuity = (): number =>
    Number(/promiscuity (\d+)/.exec(sh('ip', ['-d', '-n', bed.target, 'link', 'show', bed.targetDev]))?.[1]);
  t.is(promiscuity(), 0);
  const dir = makeSocketDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const syslog = listenSyslog(path.join(dir, 'log'));
  t.teardown(() => syslog.close());
  const promisc = startOurs(bed, ['--foreground', '--syslog-socket', syslog.path, ...pcapOn(bed.targetDev), '--promisc']);
  t.teardown(() => promisc.kill());
  await promisc.ready();
  t.is(promiscuity(), 1);
  await promisc.kill();
  t.is(promiscuity(), 0);
});

rootTest('the raw-socket default does not load libpcap', async (t) => {
  const { watchers } = await startWatchers(t, () => [[]]);
  const { capturePid } = await (watchers[0] as Watcher).daemon.ready();
  t.notRegex(fs.readFileSync(`/proc/${capturePid}/maps`, 'utf8'), /libpcap\.so/);
});

/**
 * A wrapper that runs its arguments in a mount namespace where libpcap cannot be loaded,
 * as on a host without libpcap0.8: the library's file is an empty one there.
 */
function withoutLibpcap(t: ExecutionContext): string[] {
  const found = /libpcap\.so\.0\.8 \(libc6,x86-64\) => (\S+)/.exec(sh('/sbin/ldconfig', ['-p']))?.[1];
  if (found === undefined) throw new Error('ldconfig does not know libpcap.so.0.8');
  const empty = path.join(makeSocketDir(), 'empty');
  fs.writeFileSync(empty, '');
  t.teardown(() => fs.rmSync(path.dirname(empty), { recursive: true, force: true }));
  return ['unshare', '-m', 'sh', '-c', `mount --bind ${empty} "$(readlink -f ${found})" && exec "$@"`, 'sh'];
}

rootTest('a host without libpcap: the raw-socket default logs a scan; --interface is refused with one line', async (t) => {
  const bed = createTestbed();
  const dir = makeSocketDir();
  const syslog = listenSyslog(path.join(dir, 'log'));
  t.teardown(() => {
    syslog.close();
    bed.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const wrap = withoutLibpcap(t);
  const raw = startOurs(bed, ['--foreground', '--syslog-socket', syslog.path], { wrap });
  t.teardown(() => raw.kill());
  await raw.ready();
  await nmapSyn(bed);
  await settle([syslog], 1);
  t.is(syslog.messages().length, 1);
  t.regex(syslog.messages()[0] as string, scanLine(bed));

  const pcap = startOurs(bed, ['--foreground', '--syslog-socket', syslog.path, ...pcapOn(bed.targetDev)], { wrap });
  t.teardown(() => pcap.kill());
  t.is((await pcap.exited).code, 1);
  t.regex(
    pcap.stderr().trim(),
    /^scanlogd: libpcap: reader \S+\/pcaprecv\.node: \S*libpcap\.so\.0\.8: file too short \(it needs libpcap at run time; npm ci builds it where libpcap-dev is installed\)$/,
  );
});

rootTest('libpcap: a clean stop says how many packets the kernel filter passed and dropped', async (t) => {
  const { bed, watchers } = await startWatchers(t, (b) => [pcapOn(b.targetDev)]);
  const [device] = watchers as [Watcher];
  await sendPrimer(bed);
  // Eight SYNs and, filtered out in the kernel, eight ACKs.
  await sendPackets(bed, [...sweep(bed, [1, 2, 3, 4, 5, 6, 7, 8]), ...sweep(bed, [1, 2, 3, 4, 5, 6, 7, 8], ACK)]);
  await settle([device.syslog], 1);
  await device.daemon.kill();
  t.is((await device.daemon.exited).code, 0);
  t.regex(
    device.daemon.stderr(),
    new RegExp(`^scanlogd capture: libpcap on ${bed.targetDev}: 9 packets passed the kernel filter, 0 dropped by the kernel$`, 'm'),
  );
});
