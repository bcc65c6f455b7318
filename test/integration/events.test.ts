// Structured events and counters with the real daemon: nmap and hping3 traffic, a
// tcpdump record of what was actually sent, the JSON file written through the
// descriptor the root half opened, and counters lines requested by signal and timer.

import test, { type ExecutionContext } from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { createTestbed, isRoot, runIn, sleep, waitFor, type Testbed } from '../../harness/netns.js';
import { listenSyslog, makePidfilePath, makeSocketDir, SYSLOG_PREFIX } from '../../harness/syslog.js';
import { startScene } from '../../harness/testbed-daemon.js';
import { entryScript, REPO, isAlive, readStatus, userIds, signalIfAlive } from '../../harness/daemon.js';
import type { PacketSpec } from '../helpers/send-packets.js';
import { schemaErrors } from '../helpers/event-schema.js';

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('event integration tests skipped: they need root for network namespaces and raw sockets');

const SENDER = path.join(REPO, 'dist', 'test', 'helpers', 'send-packets.js');

interface JsonEvent {
  event: string;
  [key: string]: unknown;
}

/** The JSON lines of a file so far (a last line still being written is left out). */
function readEvents(file: string): JsonEvent[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as JsonEvent);
}

function assertSchema(t: ExecutionContext, events: JsonEvent[]): void {
  for (const e of events) t.deepEqual(schemaErrors(e), [], JSON.stringify(e));
}

interface Sniffed {
  dst: string;
  dport: number;
  flags: string;
}

/** tcpdump in the target namespace: every TCP packet from the scanner, as it arrived. */
async function sniff(bed: Testbed): Promise<{ stop(): Promise<Sniffed[]> }> {
  const child = childProcess.spawn(
    'ip',
    ['netns', 'exec', bed.target, 'tcpdump', '-i', 'any', '-nn', '-l', '-tt', `tcp and src host ${bed.scannerAddr}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await waitFor(`tcpdump to listen (${err})`, () => (err.includes('listening on') ? true : undefined), 10000);
  return {
    async stop() {
      await sleep(300); // the last packets reach tcpdump's output
      child.kill('SIGINT');
      await Promise.race([closed, sleep(3000)]);
      const packets: Sniffed[] = [];
      for (const line of out.split('\n')) {
        const m = / IP (\d+\.\d+\.\d+\.\d+)\.\d+ > (\d+\.\d+\.\d+\.\d+)\.(\d+): Flags \[([^\]]*)\]/.exec(line);
        if (m !== null) packets.push({ dst: m[2] as string, dport: Number(m[3]), flags: m[4] as string });
      }
      return packets;
    },
  };
}

/**
 * What the detector takes from these packets, by its rules: probes are packets to a port
 * already seen, or SYN-like packets (no ACK, no RST) to a new one; the scan is reported
 * at the packet whose port weight makes 21.
 */
function expectedFrom(packets: Sniffed[]): {
  ports: number[];
  scanDestinations: string[];
  /** Whether the line says "and others": only a new port to another address counts, as in scanlogd. */
  lineOthers: boolean;
  probes: number;
  distinct: Set<number>;
  destinations: string[];
} {
  const ports: number[] = [];
  const scanDestinations: string[] = [];
  const destinations: string[] = [];
  const distinct = new Set<number>();
  let weight = 0;
  let crossed = false;
  let lineOthers = false;
  let probes = 0;
  for (const p of packets) {
    const known = distinct.has(p.dport);
    if (!known && /[R.]/.test(p.flags)) continue;
    probes++;
    distinct.add(p.dport);
    if (!destinations.includes(p.dst)) destinations.push(p.dst);
    if (crossed) continue;
    if (!scanDestinations.includes(p.dst)) scanDestinations.push(p.dst);
    if (known) continue;
    if (p.dst !== scanDestinations[0]) lineOthers = true;
    ports.push(p.dport);
    weight += p.dport < 1024 ? 3 : 1;
    if (weight >= 21) crossed = true;
  }
  return { ports, scanDestinations, lineOthers, probes, distinct, destinations };
}

rootTest('nmap against two addresses: a scan event with every port and destination, then scan_end with what nmap probed', async (t) => {
  const dir = makeSocketDir(); // root-owned, mode 755: the scanlogd user cannot create files here
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'events.json');
  const { bed, syslog, daemon } = await startScene(t, ['--json', file]);
  const { monitorPid } = await daemon.ready();

  const sniffer = await sniff(bed);
  const r = await runIn(bed.scanner, 'nmap', [
    '-n',
    '-Pn',
    '-sS',
    '-g',
    '40000',
    '--max-retries',
    '0',
    '-p',
    '1-100',
    bed.targetAddr,
    bed.targetAddr2,
  ]);
  t.is(r.code, 0, r.stderr);
  const sent = await sniffer.stop();
  const expected = expectedFrom(sent);
  t.log(`tcpdump saw ${sent.length} packets from the scanner, ${expected.distinct.size} distinct ports`);

  await waitFor('the scan event', () => (readEvents(file).length >= 1 ? true : undefined));
  const scan = readEvents(file)[0] as JsonEvent;
  t.is(scan.event, 'scan');
  t.is(scan['source'], bed.scannerAddr);
  t.is(scan['source_port'], 40000);
  t.deepEqual(scan['ports'], expected.ports);
  t.deepEqual(scan['destinations'], expected.scanDestinations);
  t.is(scan['flags'], 'fSrpauxy');
  t.is(scan['syslog'], 'logged');
  // The syslog line stays scanlogd's: the same scan, cut to 120 characters.
  t.is(syslog.messages().length, 1);
  const others = expected.lineOthers ? ' and others,' : '';
  t.true(
    (syslog.messages()[0] as string).startsWith(`${bed.scannerAddr}:40000 to ${expected.scanDestinations[0] as string}${others} ports `),
    `${syslog.messages()[0] as string} vs ${JSON.stringify(expected.scanDestinations)}`,
  );

  const quietFrom = Date.now();
  await waitFor('the scan_end event', () => (readEvents(file).length >= 2 ? true : undefined), 8000);
  const waited = Date.now() - quietFrom;
  const end = readEvents(file)[1] as JsonEvent;
  t.is(end.event, 'scan_end');
  t.is(end['reason'], 'quiet');
  t.is(end['distinct_ports'], expected.distinct.size);
  t.is(end['distinct_ports'], 100);
  t.is(end['port_ranges'], '1-100');
  t.is(end['packets'], expected.probes);
  t.deepEqual([...(end['destinations'] as string[])].sort(), [bed.targetAddr, bed.targetAddr2].sort());
  t.true(waited >= 2000 && waited <= 5000, `scan_end came ${waited} ms after nmap ended`);
  t.is(readEvents(file).length, 2);
  assertSchema(t, readEvents(file));

  // Written by the unprivileged monitor through the descriptor root opened for it.
  const st = fs.statSync(file);
  t.is(st.uid, 0);
  t.is(st.mode & 0o777, 0o640);
  t.is(fs.readlinkSync(`/proc/${monitorPid}/fd/5`), file);
  t.is(readStatus(monitorPid)?.uid[0], userIds('scanlogd').uid);
  const denied = childProcess.spawnSync('setpriv', [
    '--reuid=scanlogd',
    '--regid=scanlogd',
    '--clear-groups',
    'sh',
    '-c',
    `echo x >> ${file}`,
  ]);
  t.not(denied.status, 0, 'the scanlogd user cannot open the file itself');
});

rootTest('many scanners: suppressed start when the flood notice is logged, end with the number dropped', async (t) => {
  const dir = makeSocketDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'events.json');
  const { bed, syslog } = await startScene(t, ['--json', file, '--log-delay', '1.5']);
  // Nine spoofed sources, 7 privileged ports each: one scan per source.
  const packets: PacketSpec[] = [];
  for (let k = 0; k < 9; k++) {
    for (let i = 0; i < 7; i++) {
      packets.push({ src: `198.18.250.${10 + k}`, dst: bed.targetAddr, sport: 41000 + k, dport: 20 + i, flags: 0x02 });
    }
  }
  const r = await runIn(bed.scanner, process.execPath, [SENDER, JSON.stringify(packets)]);
  t.is(r.code, 0, r.stderr);
  await waitFor(
    'the suppressed end',
    () => (readEvents(file).some((e) => e.event === 'suppressed' && e['state'] === 'end') ? true : undefined),
    6000,
  );
  const events = readEvents(file);
  const kinds = events.map((e) =>
    e.event === 'scan' ? `scan ${String(e['syslog'])}` : e.event === 'suppressed' ? `suppressed ${String(e['state'])}` : e.event,
  );
  t.deepEqual(
    kinds.filter((k) => k !== 'scan_end'),
    [
      'scan logged',
      'scan logged',
      'scan logged',
      'scan logged',
      'scan logged',
      'suppressed start',
      'scan flood-notice',
      'scan suppressed',
      'scan suppressed',
      'scan suppressed',
      'suppressed end',
    ],
  );
  t.is(events.find((e) => e.event === 'suppressed' && e['state'] === 'end')?.['dropped'], 4);
  t.is(syslog.messages().length, 6);
  t.is(syslog.messages()[5], 'More possible port scans follow');
  assertSchema(t, events);
});

/** Counters lines (daemon.info) among the datagrams, as key -> value. */
function countersLines(datagrams: string[]): Array<Record<string, number>> {
  return datagrams
    .filter((d) => SYSLOG_PREFIX.exec(d)?.[1] === '30')
    .map((d) => d.replace(SYSLOG_PREFIX, ''))
    .filter((m) => m.startsWith('counters: '))
    .map(
      (m) =>
        Object.fromEntries(
          m
            .slice('counters: '.length)
            .split(' ')
            .map((kv) => kv.split('='))
            .map(([k, v]) => [k, Number(v)]),
        ) as Record<string, number>,
    );
}

rootTest(
  'SIGUSR1 to the pid in the pidfile logs one counters line at daemon.info with the packets hping3 sent; to the monitor alone, none',
  async (t) => {
    const pidfile = makePidfilePath(t);
    const { bed, syslog, daemon } = await startScene(t, ['--pidfile', pidfile]);
    const { monitorPid } = await daemon.ready();
    // 40 SYNs to one port: no scan, just packets to count.
    const r = await runIn(bed.scanner, 'hping3', ['-q', '-S', '-p', '80', '-c', '40', '-i', 'u2000', bed.targetAddr]);
    t.true(r.code === 0 || r.code === 1, `hping3: ${r.stderr}`);
    await sleep(300);
    t.deepEqual(countersLines(syslog.datagrams), [], 'nothing is logged unasked');
    process.kill(Number(fs.readFileSync(pidfile, 'utf8')), 'SIGUSR1');
    await waitFor('a counters line', () => (countersLines(syslog.datagrams).length >= 1 ? true : undefined));
    const line = syslog.datagrams.find((d) => d.includes('counters: ')) as string;
    t.regex(line, /^<30>/);
    t.deepEqual(countersLines(syslog.datagrams)[0], {
      packets_seen: 40,
      packets_rejected: 0,
      records_received: 40,
      records_dropped_by_capture: 0,
      scans_detected: 0,
      scans_logged: 0,
      scans_suppressed: 0,
      table_reuses: 0,
      bucket_evictions: 0,
      kernel_drops: 0,
    });
    // Sent to the monitor alone it does nothing: to both halves (systemctl kill) it gives one line.
    process.kill(monitorPid, 'SIGUSR1');
    await sleep(500);
    t.is(countersLines(syslog.datagrams).length, 1);
    process.kill(monitorPid, 'SIGUSR1');
    process.kill(Number(fs.readFileSync(pidfile, 'utf8')), 'SIGUSR1');
    await waitFor('a second counters line', () => (countersLines(syslog.datagrams).length >= 2 ? true : undefined));
    await sleep(500);
    t.is(countersLines(syslog.datagrams).length, 2);
    t.true(daemon.child.exitCode === null, 'the daemon keeps running');
    t.false(/Debugger listening/.test(daemon.stderr()), daemon.stderr());
  },
);

rootTest('--stats-interval logs counters periodically; a scan shows in them', async (t) => {
  const { bed, syslog } = await startScene(t, ['--stats-interval', '1']);
  await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1-20', bed.targetAddr]);
  await waitFor('three counters lines', () => (countersLines(syslog.datagrams).length >= 3 ? true : undefined), 6000);
  const lines = countersLines(syslog.datagrams);
  const last = lines[lines.length - 1] as Record<string, number>;
  t.is(last['scans_detected'], 1);
  t.is(last['scans_logged'], 1);
  t.true((last['packets_seen'] as number) >= 20);
  t.is(last['packets_seen'], last['records_received']);
  // The scan line itself is still the only alert.
  t.is(syslog.datagrams.filter((d) => d.startsWith('<25>')).length, 1);
});

rootTest('--json - with --foreground writes events to standard output', async (t) => {
  const { bed, daemon } = await startScene(t, ['--json', '-']);
  await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1-20', bed.targetAddr]);
  const events = await waitFor('a JSON line on stdout', () => {
    const lines = daemon
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    return lines.length >= 1 ? lines.map((l) => JSON.parse(l) as JsonEvent) : undefined;
  });
  t.is(events[0]?.event, 'scan');
  assertSchema(t, events);
});

rootTest('--json - whose reader has gone: detection and syslog go on, the loss is reported', async (t) => {
  const { bed, syslog, daemon } = await startScene(t, ['--json', '-']);
  // Nobody reads the daemon's standard output any more: writes get EPIPE.
  daemon.child.stdout?.destroy();
  await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1-20', bed.targetAddr]);
  await waitFor('the scan line', () => (syslog.datagrams.some((d) => d.startsWith('<25>')) ? true : undefined));
  await waitFor('the JSON fault', () => (syslog.datagrams.some((d) => d.startsWith('<27>')) ? true : undefined));
  t.true(
    syslog.messages().includes('JSON output to standard output failed (EPIPE); dropping lines until it works again'),
    syslog.datagrams.join('\n'),
  );
  await sleep(3500); // the scan goes quiet: its scan_end is dropped as well
  process.kill(daemon.pid, 'SIGUSR1');
  await waitFor('a counters line', () => (countersLines(syslog.datagrams).length >= 1 ? true : undefined));
  t.like(countersLines(syslog.datagrams)[0], { scans_detected: 1, scans_logged: 1, json_lines_written: 0, json_lines_dropped: 2 });
  t.true(daemon.child.exitCode === null, 'the daemon keeps running');
});

rootTest('detached daemon: --json to a root-owned directory and SIGUSR1 to the pidfile pid, as an init script runs it', async (t) => {
  const bed = createTestbed();
  const dir = makeSocketDir();
  const logDir = makeSocketDir(); // root's, like /var/log
  const syslog = listenSyslog(path.join(dir, 'log'));
  const pidfile = makePidfilePath(t);
  const file = path.join(logDir, 'scanlogd.json');
  let daemonPid = 0;
  t.teardown(() => {
    if (daemonPid > 0) signalIfAlive(daemonPid, 'SIGKILL');
    syslog.close();
    bed.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(logDir, { recursive: true, force: true });
  });
  const r = childProcess.spawnSync(
    'ip',
    ['netns', 'exec', bed.target, process.execPath, entryScript(), '--syslog-socket', syslog.path, '--pidfile', pidfile, '--json', file],
    { encoding: 'utf8', timeout: 20000 },
  );
  t.is(r.status, 0, r.stderr);
  daemonPid = Number(fs.readFileSync(pidfile, 'utf8'));
  await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1-20', bed.targetAddr]);
  await waitFor('the scan event', () => (readEvents(file).length >= 1 ? true : undefined));
  t.like(readEvents(file)[0], { event: 'scan', source: bed.scannerAddr, destinations: [bed.targetAddr] });
  process.kill(daemonPid, 'SIGUSR1');
  await waitFor('a counters line', () => (countersLines(syslog.datagrams).length >= 1 ? true : undefined));
  t.like(countersLines(syslog.datagrams)[0], { scans_detected: 1, json_lines_dropped: 0 });
  process.kill(daemonPid, 'SIGTERM');
  await waitFor('the daemon to stop', () => (isAlive(daemonPid) ? undefined : true), 2000);
  assertSchema(t, readEvents(file));
});

rootTest('--json - without --foreground is refused with one line and status 1', (t) => {
  const r = childProcess.spawnSync(process.execPath, [entryScript(), '--json', '-'], { encoding: 'utf8', timeout: 20000 });
  t.is(r.status, 1);
  t.is(r.stderr, 'scanlogd: --json - writes to standard output, which the daemon gives up when it detaches; add --foreground\n');
});

rootTest('a full disk for --json: detection and syslog go on, the dropped lines are counted and reported', async (t) => {
  // A file system of its own, filled up: every write to the events file fails (ENOSPC).
  const dir = makeSocketDir();
  const full = path.join(dir, 'full');
  fs.mkdirSync(full, { mode: 0o755 });
  childProcess.execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', full]);
  t.teardown(() => {
    childProcess.spawnSync('umount', ['-l', full]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  childProcess.spawnSync('dd', ['if=/dev/zero', `of=${path.join(full, 'filler')}`, 'bs=4k']);
  const file = path.join(full, 'events.json');
  const { bed, syslog, daemon } = await startScene(t, ['--json', file]);
  await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1-20', bed.targetAddr]);
  await waitFor('the scan line', () => (syslog.datagrams.some((d) => d.startsWith('<25>')) ? true : undefined));
  await waitFor('the JSON fault', () => (syslog.datagrams.some((d) => d.startsWith('<27>')) ? true : undefined));
  t.true(
    syslog.messages().includes(`JSON output to ${file} failed (ENOSPC); dropping lines until it works again`),
    syslog.datagrams.join('\n'),
  );
  process.kill(daemon.pid, 'SIGUSR1');
  await waitFor('a counters line', () => (countersLines(syslog.datagrams).length >= 1 ? true : undefined));
  const counters = countersLines(syslog.datagrams)[0] as Record<string, number>;
  t.like(counters, { scans_detected: 1, scans_logged: 1, json_lines_written: 0 });
  // The scan event, and the scan_end too if the source went quiet meanwhile.
  t.true(counters['json_lines_dropped'] === 1 || counters['json_lines_dropped'] === 2, JSON.stringify(counters));
  t.true(daemon.child.exitCode === null);
});

/** Each unsafe --json path, made in a fresh root-owned directory, and the line that refuses it. */
const unsafeJson: Array<{ name: string; make: (dir: string) => string; line: RegExp }> = [
  {
    name: 'a directory others can write',
    make: (d) => {
      fs.mkdirSync(`${d}/open`, { mode: 0o777 });
      fs.chmodSync(`${d}/open`, 0o777);
      return `${d}/open/events.json`;
    },
    line: /^scanlogd: --json .*\/open\/events\.json: directory .*\/open is writable by others \(mode 777\)$/,
  },
  {
    name: 'a FIFO (start-up does not block on it)',
    make: (d) => {
      childProcess.execFileSync('mkfifo', [`${d}/fifo.json`]);
      return `${d}/fifo.json`;
    },
    line: /^scanlogd: --json .*\/fifo\.json: it exists and is not a regular file; the daemon appends only to a file it made$/,
  },
  {
    name: 'a file with a second hard link',
    make: (d) => {
      fs.writeFileSync(`${d}/events.json`, '');
      fs.chmodSync(`${d}/events.json`, 0o640);
      fs.linkSync(`${d}/events.json`, `${d}/other`);
      return `${d}/events.json`;
    },
    line: /^scanlogd: --json .*\/events\.json: it has 2 links, not 1; the daemon appends only to a file it made$/,
  },
  {
    name: 'a file not owned by root',
    make: (d) => {
      fs.writeFileSync(`${d}/events.json`, '');
      fs.chownSync(`${d}/events.json`, 65534, 65534);
      return `${d}/events.json`;
    },
    line: /^scanlogd: --json .*\/events\.json: it is owned by uid 65534, not root; the daemon appends only to a file it made$/,
  },
  {
    name: "a file of root's with another mode (a copy of a system file)",
    make: (d) => {
      fs.copyFileSync('/etc/passwd', `${d}/events.json`);
      fs.chmodSync(`${d}/events.json`, 0o644);
      return `${d}/events.json`;
    },
    line: /^scanlogd: --json .*\/events\.json: its mode is 644, not 640; the daemon appends only to a file it made$/,
  },
];

for (const c of unsafeJson) {
  rootTest(`an unsafe --json path stops start-up with one line: ${c.name}`, (t) => {
    const dir = makeSocketDir();
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const r = childProcess.spawnSync(process.execPath, [entryScript(), '-f', '--json', c.make(dir)], { encoding: 'utf8', timeout: 20000 });
    t.is(r.status, 1, r.stderr);
    t.regex(r.stderr.trimEnd(), c.line);
    t.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  });
}

rootTest("a --json file the daemon made before (root's, 0640, one link) is taken again, kept and appended to", async (t) => {
  const dir = makeSocketDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'events.json');
  fs.writeFileSync(file, 'earlier\n', { mode: 0o640 });
  fs.chmodSync(file, 0o640);
  const { daemon } = await startScene(t, ['--json', file]);
  await daemon.ready();
  t.is(fs.statSync(file).mode & 0o7777, 0o640);
  t.true(fs.readFileSync(file, 'utf8').startsWith('earlier\n'));
});

rootTest('an unwritable --json path stops start-up with one line', (t) => {
  const dir = makeSocketDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.symlinkSync('/etc/passwd', path.join(dir, 'link.json'));
  const r = childProcess.spawnSync(process.execPath, [entryScript(), '-f', '--json', path.join(dir, 'link.json')], {
    encoding: 'utf8',
    timeout: 20000,
  });
  t.is(r.status, 1);
  t.regex(r.stderr, /^scanlogd: --json .*\/link\.json: it exists and is not a regular file; the daemon appends only to a file it made\n$/);
});
