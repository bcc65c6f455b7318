// --ipv6 and --udp with real scanners in a namespace pair, on the raw socket and on
// libpcap: nmap -6, nmap -sU over IPv4 and IPv6 (with and without -g 53), hping3
// --udp, and a host's own client traffic (thousands of queries answered from port 53,
// 123 and 443), which must never be logged.

import test, { type ExecutionContext } from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { isRoot, runIn, sleep, waitFor, type Testbed } from '../../harness/netns.js';
import { startScene } from '../../harness/testbed-daemon.js';
import { listenSyslog, makeSocketDir, type SyslogListener } from '../../harness/syslog.js';
import { startOurs, type OurDaemon } from '../../harness/daemon.js';
import { sendPrimer } from '../helpers/capture.js';
import type { Packet6Spec } from '../helpers/send-packets6.js';
import { schemaErrors } from '../helpers/event-schema.js';
import { fail2banSources } from '../helpers/fail2ban.js';

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('IPv6 and UDP integration tests skipped: they need root for network namespaces and raw sockets');

interface Watched {
  bed: Testbed;
  daemon: OurDaemon;
  syslog: SyslogListener;
}

/** One testbed with IPv6, and our daemon in its target namespace with `args`. */
async function watch(t: ExecutionContext, args: (bed: Testbed) => string[]): Promise<Watched> {
  const { bed, daemon, syslog } = await startScene(t, (b) => args(b), { ipv6: true });
  return { bed, daemon, syslog };
}

async function scan(bed: Testbed, args: string[]): Promise<void> {
  // Bounded: one try per port, and a time limit on the whole scan.
  const r = await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '--max-retries', '0', '--host-timeout', '30s', ...args], 60000);
  if (r.code !== 0) throw new Error(`nmap ${args.join(' ')}: ${r.stderr}`);
}

async function lineCount(w: Watched, count: number): Promise<string[]> {
  await waitFor(
    `${count} lines, got ${JSON.stringify(w.syslog.messages())} (daemon stderr: ${w.daemon.stderr()})`,
    () => (w.syslog.messages().length >= count ? true : undefined),
    15000,
  );
  await sleep(700);
  return w.syslog.messages();
}

const escape = (s: string): string => s.replace(/[.[\]]/g, '\\$&');
const TIME = '@\\d\\d:\\d\\d:\\d\\d$';

const raw = (): string[] => ['--ipv6', '--udp'];
const pcap = (bed: Testbed): string[] => ['--ipv6', '--udp', '--interface', bed.targetDev];

for (const [backend, args] of [
  ['raw socket', raw],
  ['libpcap', pcap],
] as const) {
  rootTest(`${backend}: nmap -6 SYN scan gives an IPv6 line, [source]:port in brackets`, async (t) => {
    const w = await watch(t, args);
    if (backend === 'libpcap') await sendPrimer(w.bed);
    await scan(w.bed, ['-6', '-sS', '-p', '1-100', w.bed.targetAddr6]);
    const lines = await lineCount(w, 1);
    t.log(lines.join('\n'));
    t.is(lines.length, 1);
    t.regex(
      lines[0]!,
      new RegExp(
        `^\\[${escape(w.bed.scannerAddr6)}\\]:\\d+ to ${escape(w.bed.targetAddr6)} ports (\\d+, ){6,}\\.\\.\\., fSrpauxy, TOS 00(, TTL \\d+)? ${TIME}`,
      ),
    );
  });

  rootTest(`${backend}: nmap -sU over IPv4 and IPv6, and with -g 53: UDP lines`, async (t) => {
    const w = await watch(t, args);
    if (backend === 'libpcap') await sendPrimer(w.bed);
    await scan(w.bed, ['-sU', '-p', '1-40', w.bed.targetAddr]);
    await lineCount(w, 1);
    await scan(w.bed, ['-6', '-sU', '-p', '1-40', w.bed.targetAddr6]);
    await lineCount(w, 2);
    // A scanner posing as a DNS server: its probes go to well-known ports, not to this
    // host's client ports. After more than --scan-delay, so that its source, already
    // reported for the first scan, may be reported again.
    await sleep(3500);
    await scan(w.bed, ['-sU', '-g', '53', '-p', '100-140', w.bed.targetAddr2]);
    const lines = await lineCount(w, 3);
    t.log(lines.join('\n'));
    t.is(lines.length, 3);
    t.regex(
      lines[0]!,
      new RegExp(
        `^${escape(w.bed.scannerAddr)}:\\d+ to ${escape(w.bed.targetAddr)} ports (\\d+, ){6,}\\.\\.\\., UDP, TOS 00(, TTL \\d+)? ${TIME}`,
      ),
    );
    t.regex(
      lines[1]!,
      new RegExp(
        `^\\[${escape(w.bed.scannerAddr6)}\\]:\\d+ to ${escape(w.bed.targetAddr6)} ports (\\d+, ){6,}\\.\\.\\., UDP, TOS 00(, TTL \\d+)? ${TIME}`,
      ),
    );
    t.regex(
      lines[2]!,
      new RegExp(
        `^${escape(w.bed.scannerAddr)}:53 to ${escape(w.bed.targetAddr2)} ports (\\d+, ){6,}\\.\\.\\., UDP, TOS 00(, TTL \\d+)? ${TIME}`,
      ),
    );
  });
}

const HELPERS = path.join(__dirname, '..', 'helpers');

/** The echo server in the scanner namespace on `ports`, for at most `seconds`. */
async function echoServer(t: ExecutionContext, bed: Testbed, address: string, ports: number[], seconds: number): Promise<void> {
  const server = childProcess.spawn(
    'ip',
    ['netns', 'exec', bed.scanner, process.execPath, path.join(HELPERS, 'udp-echo.js'), String(seconds), address, ...ports.map(String)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  t.teardown(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
  });
  let out = '';
  server.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor('the echo server', () => (out.includes('ready') ? true : undefined), 10000);
}

/** `count` queries from the target's own clients; resolves with the number answered. */
async function clientQueries(bed: Testbed, server: string, port: number, count: number): Promise<number> {
  const r = await runIn(
    bed.target,
    process.execPath,
    [path.join(HELPERS, 'udp-client.js'), server, String(port), String(count), '32'],
    120000,
  );
  if (r.code !== 0) throw new Error(`udp-client: ${r.stderr}`);
  return Number(r.stdout.trim());
}

for (const [backend, args] of [
  ['raw socket', raw],
  ['libpcap', pcap],
] as const) {
  rootTest(
    `${backend}: thousands of answers from ports 53, 123 and 443 to this host's clients are never logged; a scanner from port 53 still is`,
    async (t) => {
      const w = await watch(t, args);
      const { bed } = w;
      if (backend === 'libpcap') await sendPrimer(bed);
      await echoServer(t, bed, bed.scannerAddr, [53, 123, 443], 90);
      await echoServer(t, bed, bed.scannerAddr6, [53, 443], 90);
      const answered = [
        await clientQueries(bed, bed.scannerAddr, 53, 3000),
        await clientQueries(bed, bed.scannerAddr, 123, 500),
        await clientQueries(bed, bed.scannerAddr, 443, 500),
        await clientQueries(bed, bed.scannerAddr6, 53, 2000),
        await clientQueries(bed, bed.scannerAddr6, 443, 500),
      ];
      t.log(`answers received by the target's clients: ${answered.join(', ')}`);
      t.true(
        answered.every((n, i) => n >= [3000, 500, 500, 2000, 500][i]! * 0.95),
        `answers: ${answered.join(', ')}`,
      );
      // The counters say how many were recognised as replies.
      process.kill(w.daemon.pid, 'SIGUSR1');
      const counters = await waitFor('a counters line', () => w.syslog.messages().find((m) => m.startsWith('counters:')), 5000);
      t.log(counters);
      const skipped = Number(/udp_replies_skipped=(\d+)/.exec(counters)?.[1]);
      t.true(skipped >= answered.reduce((a, b) => a + b, 0), counters);
      t.deepEqual(
        w.syslog.messages().filter((m) => !m.startsWith('counters:')),
        [],
      );

      // The same server address, now scanning from port 53: logged.
      await scan(bed, ['-sU', '-g', '53', '-p', '1-40', bed.targetAddr]);
      await waitFor('the scan line', () => w.syslog.messages().find((m) => / UDP, /.test(m)), 15000);
      const scanLines = w.syslog.messages().filter((m) => !m.startsWith('counters:'));
      t.log(scanLines.join('\n'));
      t.is(scanLines.length, 1);
      t.regex(
        scanLines[0]!,
        new RegExp(
          `^${escape(bed.scannerAddr)}:53 to ${escape(bed.targetAddr)} ports (\\d+, ){6,}\\.\\.\\., UDP, TOS 00(, TTL \\d+)? ${TIME}`,
        ),
      );
    },
  );

  rootTest(`${backend}: hping3 --udp to successive ports gives a UDP line without a source port (hping3 changes it)`, async (t) => {
    const w = await watch(t, args);
    if (backend === 'libpcap') await sendPrimer(w.bed);
    const r = await runIn(w.bed.scanner, 'hping3', ['-q', '--udp', '-p', '++100', '-c', '20', '-i', 'u10000', w.bed.targetAddr]);
    t.true(r.code === 0 || r.code === 1, `hping3: ${r.stderr}`);
    const lines = await lineCount(w, 1);
    t.log(lines.join('\n'));
    t.is(lines.length, 1);
    t.regex(
      lines[0]!,
      new RegExp(
        `^${escape(w.bed.scannerAddr)} to ${escape(w.bed.targetAddr)} ports 100, 101, 102, 103, 104, 105, \\.\\.\\., UDP, TOS 00, TTL 64 ${TIME}`,
      ),
    );
  });
}

rootTest('control: with a client port range that misses the real one, the same answers from port 53 are taken for a scan', async (t) => {
  // Shows that the test above proves the rule, not a quiet daemon.
  const w = await watch(t, () => ['--udp', '--ephemeral-ports', '1-1']);
  await echoServer(t, w.bed, w.bed.scannerAddr, [53], 60);
  t.true((await clientQueries(w.bed, w.bed.scannerAddr, 53, 500)) >= 475);
  const lines = await lineCount(w, 1);
  t.log(lines.join('\n'));
  t.regex(
    lines[0]!,
    new RegExp(`^${escape(w.bed.scannerAddr)}:53 to ${escape(w.bed.targetAddr)} ports \\d+, .*UDP, TOS 00, TTL 64 ${TIME}`),
  );
});

async function send6(bed: Testbed, packets: Packet6Spec[]): Promise<void> {
  const r = await runIn(bed.scanner, process.execPath, [path.join(HELPERS, 'send-packets6.js'), JSON.stringify(packets)]);
  if (r.code !== 0) throw new Error(`send-packets6: ${r.stderr}`);
}

/** SYNs from the scanner to ports 1-8, each behind the extension headers `ext`. */
const synsBehind = (bed: Testbed, ext: Packet6Spec['ext'], sport: number): Packet6Spec[] =>
  Array.from({ length: 8 }, (_, i) => ({
    src: bed.scannerAddr6,
    dst: bed.targetAddr6,
    sport,
    dport: i + 1,
    flags: 0x02,
    hopLimit: 61,
    trafficClass: 0x28,
    ext,
  }));

rootTest(
  'IPv6 extension headers: SYNs behind hop-by-hop and destination options are logged on both backends; first fragments only by libpcap',
  async (t) => {
    const rawW = await watch(t, raw);
    // A second daemon on libpcap in the same target namespace sees the same packets.
    const dir = makeSocketDir();
    const pcapLog = listenSyslog(path.join(dir, 'log'));
    const pcapDaemon = startOurs(rawW.bed, ['--foreground', '--syslog-socket', pcapLog.path, ...pcap(rawW.bed)]);
    t.teardown(async () => {
      await pcapDaemon.kill();
      pcapLog.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    await pcapDaemon.ready();
    const bed = rawW.bed;
    await sendPrimer(bed);
    await send6(bed, synsBehind(bed, ['hop', 'dest'], 41000));
    const pcapW: Watched = { bed, daemon: pcapDaemon, syslog: pcapLog };
    const expected = `[${bed.scannerAddr6}]:41000 to ${bed.targetAddr6} ports 1, 2, 3, 4, 5, 6, ..., fSrpauxy, TOS 28, TTL 61`;
    t.deepEqual(
      (await lineCount(rawW, 1)).map((l) => l.replace(/ @.*/, '')),
      [expected],
    );
    t.deepEqual(
      (await lineCount(pcapW, 1)).map((l) => l.replace(/ @.*/, '')),
      [expected],
    );
    // First fragments that are never completed: the stack never delivers them, libpcap sees them.
    await sleep(3500);
    await send6(bed, synsBehind(bed, ['hop', 'frag0'], 42000));
    const fragmentLine = `[${bed.scannerAddr6}]:42000 to ${bed.targetAddr6} ports 1, 2, 3, 4, 5, 6, ..., fSrpauxy, TOS 28, TTL 61`;
    t.deepEqual(
      (await lineCount(pcapW, 2)).map((l) => l.replace(/ @.*/, '')),
      [expected, fragmentLine],
    );
    t.deepEqual(
      rawW.syslog.messages().map((l) => l.replace(/ @.*/, '')),
      [expected],
    );
  },
);

rootTest('fail2ban-regex with the packaged filter takes the source of every new form of line the daemon wrote', async (t) => {
  const w = await watch(t, raw);
  const { bed } = w;
  const spoofed = bed.scannerAddr6.replace(/::2$/, '::99');
  await send6(bed, synsBehind(bed, [], 41000));
  await send6(
    bed,
    synsBehind(bed, [], 0).map((p, i) => ({ ...p, src: spoofed, sport: 42000 + i })),
  );
  await scan(bed, ['-6', '-sU', '-p', '1-20', bed.targetAddr6]);
  const r = await runIn(bed.scanner, 'hping3', ['-q', '--udp', '-p', '++100', '-c', '12', '-i', 'u10000', bed.targetAddr]);
  t.true(r.code === 0 || r.code === 1, `hping3: ${r.stderr}`);
  await scan(bed, ['-sS', '-p', '1-40', bed.targetAddr]);
  const lines = await lineCount(w, 5);
  t.log(lines.join('\n'));
  t.is(lines.length, 5);
  const sources = [bed.scannerAddr6, spoofed, bed.scannerAddr6, bed.scannerAddr, bed.scannerAddr];
  t.regex(lines[0]!, /^\[[0-9a-f:]+\]:41000 to [0-9a-f:]+ ports .* fSrpauxy, TOS 28, TTL 61 @/);
  t.regex(lines[1]!, /^[0-9a-f:]+ to [0-9a-f:]+ ports .* fSrpauxy, TOS 28, TTL 61 @/);
  t.regex(lines[2]!, /^\[[0-9a-f:]+\]:\d+ to [0-9a-f:]+ ports .* UDP, TOS 00, TTL \d+ @/);
  t.regex(lines[3]!, /^[\d.]+ to [\d.]+ ports .* UDP, TOS 00, TTL 64 @/);
  t.regex(lines[4]!, /^[\d.]+:\d+ to [\d.]+ ports .* fSrpauxy, TOS 00 @/);

  t.deepEqual(fail2banSources(t, w.syslog.datagrams), sources);
});

/** The raw sockets of /proc/net/raw and raw6 as `pid` sees them: inode -> "IPv4 6" etc. */
function rawSocketTable(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const [file, family] of [
    ['raw', 'IPv4'],
    ['raw6', 'IPv6'],
  ] as const) {
    for (const line of fs.readFileSync(`/proc/${pid}/net/${file}`, 'utf8').trim().split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // The local address's "port" is the socket's protocol.
      out.set(f[9] as string, `${family} ${parseInt(f[1]?.split(':')[1] ?? '', 16)}`);
    }
  }
  return out;
}

rootTest(
  '--ipv6 --udp: the capture process holds exactly its four raw sockets (close-on-exec, non-blocking), the monitor none',
  async (t) => {
    const w = await watch(t, raw);
    const { capturePid, monitorPid } = await w.daemon.ready();
    const table = rawSocketTable(capturePid);
    const rawOf = (pid: number): Array<[string, string]> =>
      fs.readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
        let target: string;
        try {
          target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return [];
        }
        const kind = table.get(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '');
        return kind === undefined ? [] : [[fd, kind] as [string, string]];
      });
    const held = rawOf(capturePid);
    t.deepEqual(held.map(([, kind]) => kind).sort(), ['IPv4 17', 'IPv4 6', 'IPv6 17', 'IPv6 6']);
    for (const [fd, kind] of held) {
      const flags = parseInt(/^flags:\s*([0-7]+)/m.exec(fs.readFileSync(`/proc/${capturePid}/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0', 8);
      t.not(flags & 0o2000000, 0, `${kind} lacks O_CLOEXEC`);
      t.not(flags & 0o4000, 0, `${kind} lacks O_NONBLOCK`);
    }
    t.deepEqual(rawOf(monitorPid), []);
  },
);

rootTest('--ipv6: an IPv6 --ignore-source network is never counted; --json events say ipv6 and validate', async (t) => {
  const dir = makeSocketDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const json = path.join(dir, 'events.json');
  const w = await watch(t, (bed) => ['--ipv6', '--json', json, '--ignore-source', bed.scannerAddr6.replace(/::2$/, '::/64')]);
  const { bed } = w;
  await scan(bed, ['-6', '-sS', '-p', '1-100', bed.targetAddr6]);
  await sleep(1500);
  t.deepEqual(w.syslog.messages(), [], 'the ignored network was logged');
  // From another source, not ignored: logged, with its events.
  await send6(
    bed,
    synsBehind(bed, ['dest'], 43000).map((p) => ({ ...p, src: 'fd00:5e::7' })),
  );
  const lines = await lineCount(w, 1);
  t.deepEqual(
    lines.map((l) => l.replace(/ @.*/, '')),
    [`[fd00:5e::7]:43000 to ${bed.targetAddr6} ports 1, 2, 3, 4, 5, 6, ..., fSrpauxy, TOS 28, TTL 61`],
  );
  const events = await waitFor('the scan event', () => {
    const text = fs.existsSync(json) ? fs.readFileSync(json, 'utf8').trim() : '';
    return text === '' ? undefined : text.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  });
  t.like(events[0], { event: 'scan', family: 'ipv6', protocol: 'tcp', source: 'fd00:5e::7', destinations: [bed.targetAddr6] });
  for (const e of events) t.deepEqual(schemaErrors(e), []);
});
