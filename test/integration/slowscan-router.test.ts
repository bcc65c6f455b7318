// The second stage on a gateway: a router namespace between a scanner and a /24 of
// hosts, the daemon watching the router's outside device with libpcap, and nmap
// sweeping one port across the /24: the hosts' resets leave through that device, where
// the stage's answers handle sees them, as it sees the router's own host unreachables
// for absent addresses (and, with --ipv6, its ICMPv6 address unreachables for absent
// addresses of a /64 behind it). A daemon without the stage watches beside it, so that
// scanlogd's own lines can be compared on the same packets.

import test, { type ExecutionContext } from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { createTestbed, isRoot, runIn, sh, sleep, waitFor, type Testbed } from '../../harness/netns.js';
import { startOurs, type OurDaemon } from '../../harness/daemon.js';
import { listenSyslog, makeSocketDir, type SyslogListener } from '../../harness/syslog.js';

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('integration tests skipped: they need root for network namespaces and libpcap');

const INSIDE_NET = '198.19.5';
const ROUTER_INSIDE = `${INSIDE_NET}.1`;
/**
 * The real hosts behind the router, one namespace holding several addresses: the first
 * ones swept, so that their resets (nothing listens on port 22 there) make the sweep.
 */
const HOSTS = [2, 3, 4, 5, 6, 7, 8].map((n) => `${INSIDE_NET}.${n}`);
/** The /64 behind the router with --ipv6: the router is ::1 and one host ::2. */
const INSIDE_NET6 = 'fd00:5d::';
const ROUTER_INSIDE6 = `${INSIDE_NET6}1`;
/** How long a contact to another host waits for an answer it never sees (slowscan.ts FOREIGN_WAIT_MS). */
const ANSWER_WAIT_MS = 120_000;

const escaped = (address: string): string => address.replace(/\./g, '\\.');

/**
 * Makes the testbed's target namespace a router: a second veth to a namespace holding
 * HOSTS on INSIDE_NET/24 (and, with `ipv6`, ::2 of INSIDE_NET6/64), forwarding on, and
 * the scanner routed to that /24 (and /64) through it. Returns the inside namespace's teardown.
 */
function addInside(bed: Testbed, ipv6: boolean): () => void {
  const tag = bed.target.replace(/^slt-/, '');
  const inside = `sli-${tag}`;
  const routerDev = `vr${tag}`.slice(0, 15);
  const hostDev = `vh${tag}`.slice(0, 15);
  const destroy = (): void => {
    childProcess.spawnSync('ip', ['netns', 'del', inside]);
    childProcess.spawnSync('ip', ['link', 'del', routerDev]);
  };
  try {
    sh('ip', ['netns', 'add', inside]);
    sh('ip', ['link', 'add', routerDev, 'type', 'veth', 'peer', 'name', hostDev]);
    sh('ip', ['link', 'set', routerDev, 'netns', bed.target]);
    sh('ip', ['link', 'set', hostDev, 'netns', inside]);
    sh('ip', ['-n', bed.target, 'addr', 'add', `${ROUTER_INSIDE}/24`, 'dev', routerDev]);
    for (const host of HOSTS) sh('ip', ['-n', inside, 'addr', 'add', `${host}/24`, 'dev', hostDev]);
    sh('ip', ['-n', bed.target, 'link', 'set', routerDev, 'up']);
    sh('ip', ['-n', inside, 'link', 'set', hostDev, 'up']);
    sh('ip', ['-n', inside, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', inside, 'route', 'add', 'default', 'via', ROUTER_INSIDE]);
    sh('ip', ['-n', bed.scanner, 'route', 'add', `${INSIDE_NET}.0/24`, 'via', bed.targetAddr]);
    sh('ip', ['netns', 'exec', bed.target, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    if (ipv6) {
      sh('ip', ['-n', bed.target, 'addr', 'add', `${ROUTER_INSIDE6}/64`, 'dev', routerDev, 'nodad']);
      sh('ip', ['-n', inside, 'addr', 'add', `${INSIDE_NET6}2/64`, 'dev', hostDev, 'nodad']);
      sh('ip', ['-n', inside, '-6', 'route', 'add', 'default', 'via', ROUTER_INSIDE6]);
      sh('ip', ['-n', bed.scanner, '-6', 'route', 'add', `${INSIDE_NET6}/64`, 'via', bed.targetAddr6]);
      sh('ip', ['netns', 'exec', bed.target, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
    }
    return destroy;
  } catch (err) {
    destroy();
    throw err;
  }
}

interface Watcher {
  daemon: OurDaemon;
  syslog: SyslogListener;
}

/** Lines of scanlogd's own form: `saddr[:sport] to daddr ... ports ..., flags[, TOS][, TTL] @time`. */
const CLASSIC = / ports [\d, .]+, [a-zA-Z?]{8}(, TOS [0-9a-f]{2})?(, TTL \d+)? @\d\d:\d\d:\d\d$/;

/** Checks that `line` is the sweep of port 22 at five hosts by `scanner` (the testbed's IPv4 scanner); returns the hosts it lists. */
function fiveHostSweep(t: ExecutionContext, bed: Testbed, line: string, scanner = bed.scannerAddr): string[] {
  const m = new RegExp(`^${escaped(scanner)} swept port 22 on (\\d+) hosts over \\d+ s, ([\\da-f.:, ]+), TCP @\\d\\d:\\d\\d:\\d\\d$`).exec(
    line,
  );
  t.truthy(m, line);
  t.is(Number(m?.[1]), 5, line);
  const listed = (m?.[2] ?? '').split(', ').filter((h) => h !== '...');
  t.true(listed.length > 0, line);
  return listed;
}

/**
 * The router with the inside hosts, and two daemons on its outside device, one with
 * the stage and one without; everything is undone at the test's end.
 */
async function routerWithWatchers(t: ExecutionContext, ipv6 = false): Promise<{ bed: Testbed; on: Watcher; off: Watcher }> {
  const bed = createTestbed({ ipv6 });
  const dir = makeSocketDir();
  const watchers: Watcher[] = [];
  let destroyInside = (): void => {};
  t.teardown(async () => {
    try {
      for (const w of watchers) await w.daemon.kill();
    } finally {
      for (const w of watchers) w.syslog.close();
      destroyInside();
      bed.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  destroyInside = addInside(bed, ipv6);
  for (const [i, stage] of [['--slow-scans'], []].entries()) {
    const syslog = listenSyslog(path.join(dir, `log${i}`));
    const lanes = ipv6 ? ['--ipv6'] : [];
    const daemon = startOurs(bed, ['--foreground', '--syslog-socket', syslog.path, '--interface', bed.targetDev, ...lanes, ...stage]);
    watchers.push({ daemon, syslog });
  }
  for (const w of watchers) await w.daemon.ready();
  const [on, off] = watchers as [Watcher, Watcher];
  return { bed, on, off };
}

rootTest('a gateway watched on its outside device: nmap sweeping port 22 across the /24 behind it is a sweep at five hosts', async (t) => {
  const { bed, on, off } = await routerWithWatchers(t);
  const watchers = [on, off];
  // The router's own inside address is not swept: it is this host, not a host behind it.
  const targets = `${INSIDE_NET}.2-254`;
  const started = Date.now();
  const sweep = await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '22', targets], 90_000);
  const nmapMs = Date.now() - started;
  t.is(sweep.code, 0, sweep.stderr);
  // The real hosts answered through the router.
  for (const host of HOSTS) t.regex(sweep.stdout, new RegExp(`Nmap scan report for ${escaped(host)}\\s+Host is up`));
  // Their resets leave through the outside device: the contacts they answer are judged
  // as the answers pass, not after the wait for answers a device showing one direction
  // never shows.
  const line = await waitFor('the sweep line', () => on.syslog.messages().find((m) => m.includes(' swept port ')), 30_000, 200);
  const tookMs = Date.now() - started;
  t.log(`${line} (${tookMs} ms after nmap started, nmap took ${nmapMs} ms)`);
  t.true(tookMs < ANSWER_WAIT_MS / 4, `the sweep line came ${tookMs} ms after nmap started`);
  const listed = fiveHostSweep(t, bed, line);
  // The hosts that refused: a sweep reported at the fifth, with the five that made it one.
  for (const host of listed) t.true(HOSTS.includes(host), `${host} did not answer: ${line}`);
  // One port across many hosts is no scan of scanlogd's rule, with the stage or without.
  t.deepEqual(
    on.syslog.messages().filter((msg) => CLASSIC.test(msg)),
    [],
  );
  t.deepEqual(off.syslog.messages(), []);

  // A fast scan of one host behind the router: scanlogd's line, the same with the stage on as off.
  // Past scanlogd's 3 s delay, so that the sweep's packets are not the start of its entry.
  await sleep(4000);
  const scan = await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1-40', HOSTS[0] as string], 60_000);
  t.is(scan.code, 0, scan.stderr);
  await waitFor(
    'the scan lines',
    () => (watchers.every((w) => w.syslog.messages().some((msg) => CLASSIC.test(msg))) ? true : undefined),
    10_000,
  );
  await sleep(1000);
  const classic = (w: Watcher): string[] => w.syslog.messages().filter((msg) => CLASSIC.test(msg));
  t.log(classic(off).join('\n'));
  t.is(classic(off).length, 1);
  t.regex(classic(off)[0] as string, new RegExp(`^${escaped(bed.scannerAddr)}(:\\d+)? to ${escaped(HOSTS[0] as string)} ports `));
  t.deepEqual(classic(on), classic(off));
  t.deepEqual(
    on.syslog.messages().filter((msg) => !CLASSIC.test(msg)),
    [line],
  );
});

rootTest(
  "a gateway watched on its outside device: a fast sweep of absent addresses is a sweep at the router's fifth host unreachable",
  async (t) => {
    const { bed, on, off } = await routerWithWatchers(t);
    // Nobody answers ARP for these: the router answers each probe with ICMP host
    // unreachable once neighbour resolution gives up (about 3 s), 6 at once and then 1 a
    // second (net.ipv4.icmp_ratelimit), and those errors leave through the outside device.
    const absent = `${INSIDE_NET}.100-254`;
    const started = Date.now();
    // nmap waits long after the router's errors for answers it never gets: the line is
    // awaited while it runs.
    const scanning = runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '-T3', '--max-retries', '0', '-p', '22', absent], 90_000);
    const line = await waitFor('the sweep line', () => on.syslog.messages().find((m) => m.includes(' swept port ')), 30_000, 100);
    const tookMs = Date.now() - started;
    const sweep = await scanning;
    t.is(sweep.code, 0, sweep.stderr);
    t.log(
      `${line} (${tookMs} ms after nmap started; load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')})`,
    );
    // nmap saw the router's errors: every address filtered (host unreachable), none open or closed.
    t.notRegex(sweep.stdout, /22\/tcp (open|closed)/);
    t.true(tookMs < 10_000, `the sweep line came ${tookMs} ms after nmap started`);
    for (const host of fiveHostSweep(t, bed, line)) {
      const n = Number(host.split('.')[3]);
      t.true(host.startsWith(`${INSIDE_NET}.`) && n >= 100 && n <= 254, `${host} was not swept: ${line}`);
    }
    t.deepEqual(off.syslog.messages(), []);
    t.deepEqual(
      on.syslog.messages().filter((msg) => CLASSIC.test(msg)),
      [],
    );
  },
);

rootTest(
  "a gateway watched on its outside device with --ipv6: nmap -6 sweeping absent addresses of the /64 behind it is a sweep at the router's fifth address unreachable",
  async (t) => {
    const { bed, on, off } = await routerWithWatchers(t, true);
    // Nobody answers neighbour solicitation for these: the router answers each probe with
    // ICMPv6 address unreachable once neighbour discovery gives up (3 solicitations, 1 s
    // apart), rate-limited per destination (net.ipv6.icmp.ratelimit), and those errors
    // leave through the outside device. nmap takes no ranges of IPv6 addresses: 20 are listed.
    const absent = Array.from({ length: 20 }, (_, i) => `${INSIDE_NET6}${(0x100 + i).toString(16)}`);
    const started = Date.now();
    const scanning = runIn(bed.scanner, 'nmap', ['-6', '-n', '-Pn', '-sS', '-T3', '--max-retries', '0', '-p', '22', ...absent], 90_000);
    const line = await waitFor('the sweep line', () => on.syslog.messages().find((m) => m.includes(' swept port ')), 30_000, 100);
    const tookMs = Date.now() - started;
    const sweep = await scanning;
    t.is(sweep.code, 0, sweep.stderr);
    t.log(
      `${line} (${tookMs} ms after nmap started; load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')})`,
    );
    // nmap saw the router's errors: no address open or closed.
    t.notRegex(sweep.stdout, /22\/tcp (open|closed)/);
    t.true(tookMs < 10_000, `the sweep line came ${tookMs} ms after nmap started`);
    for (const host of fiveHostSweep(t, bed, line, bed.scannerAddr6)) t.true(absent.includes(host), `${host} was not swept: ${line}`);
    t.deepEqual(off.syslog.messages(), []);
    t.deepEqual(
      on.syslog.messages().filter((msg) => CLASSIC.test(msg)),
      [],
    );
  },
);
