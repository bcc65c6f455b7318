// The second stage (--slow-scans) in the real daemon: nmap slower than scanlogd's
// 3-second gap, and a sweep of one port over the target's addresses, with the socket
// tables read through the descriptors the capture process hands to the monitor.

import test from 'ava';
import childProcess = require('node:child_process');
import { isRoot, runIn, sh, sleep, waitFor } from '../../harness/netns.js';
import { startScene } from '../../harness/testbed-daemon.js';
import { fail2banSources } from '../helpers/fail2ban.js';

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('integration tests skipped: they need root for network namespaces and raw sockets');

const escaped = (address: string): string => address.replace(/\./g, '\\.');

/** A TCP listener on `port` inside namespace `ns`, ended at the test's end. */
async function listenIn(t: { teardown(fn: () => void): void }, ns: string, port: number): Promise<void> {
  const child = childProcess.spawn(
    'ip',
    ['netns', 'exec', ns, process.execPath, '-e', `require('net').createServer().listen(${port}, () => console.log('up'))`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the listener exited (${code})`)));
  });
}

rootTest('nmap with --scan-delay 3.5s: scanlogd misses it, the second stage names the closed ports and not the open one', async (t) => {
  const { bed, syslog } = await startScene(t, ['--slow-scans']);
  await listenIn(t, bed.target, 5);
  const r = await runIn(
    bed.scanner,
    'nmap',
    ['-n', '-Pn', '-r', '-sS', '--scan-delay', '3.5s', '--max-retries', '0', '-p', '1-8', bed.targetAddr],
    90_000,
  );
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /5\/tcp\s+open/);
  const line = await waitFor('the slow scan line', () => syslog.messages().find((m) => m.includes(' slow scan: ')), 15_000);
  t.log(line);
  const shape = new RegExp(
    `^${escaped(bed.scannerAddr)} to ${escaped(bed.targetAddr)} slow scan: (\\d+) closed ports over (\\d+) s, ports ([\\d, ]+), TCP @\\d\\d:\\d\\d:\\d\\d$`,
  );
  const m = shape.exec(line);
  t.truthy(m, line);
  const ports = (m?.[3] ?? '').split(', ').map(Number);
  t.false(ports.includes(5), `the open port is listed: ${line}`);
  t.true(ports.every((p) => p >= 1 && p <= 8));
  // Within the claimed probes: the default threshold is 6 failed first contacts, less successes.
  t.true(Number(m?.[1]) <= 8, line);
  // scanlogd's own rule never fired: each gap is longer than its 3 seconds.
  t.deepEqual(
    syslog.messages().filter((msg) => / ports [\d, .]+, [a-zA-Z?]{8}, TOS /.test(msg)),
    [],
  );
  t.is(syslog.messages().length, 1, syslog.messages().join('\n'));
  // The packaged fail2ban filter takes the source of the new line.
  t.deepEqual(fail2banSources(t, syslog.datagrams), [bed.scannerAddr]);
});

for (const backend of ['raw socket', 'libpcap'] as const) {
  const title = 'nmap sweeping port 22 over six of the target host addresses is a sweep, not a scanlogd scan';
  rootTest(backend === 'raw socket' ? title : `${title} [libpcap]`, async (t) => {
    // On a device, the target's addresses are not known to be this host's until a socket
    // shows them, and the capture filter takes inbound packets only, so the host's own
    // resets are not seen: each contact fails after the 120 s it waits for an answer.
    const { bed, syslog } = await startScene(t, (b) => ['--slow-scans', ...(backend === 'libpcap' ? ['--interface', b.targetDev] : [])]);
    const prefix = bed.targetAddr.replace(/\.1$/, '.');
    const extra = [4, 5, 6, 7].map((n) => `${prefix}${n}`);
    for (const address of extra) sh('ip', ['-n', bed.target, 'addr', 'add', `${address}/24`, 'dev', bed.targetDev]);
    const targets = [bed.targetAddr, bed.targetAddr2, ...extra];
    const r = await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '22', ...targets], 60_000);
    t.is(r.code, 0, r.stderr);
    const line = await waitFor(
      'the sweep line',
      () => syslog.messages().find((m) => m.includes(' swept port ')),
      backend === 'libpcap' ? 150_000 : 15_000,
    );
    const m = new RegExp(
      `^${escaped(bed.scannerAddr)} swept port 22 on (\\d) hosts over \\d+ s, ([\\d., ]+), TCP @\\d\\d:\\d\\d:\\d\\d$`,
    ).exec(line);
    t.truthy(m, line);
    t.true(Number(m?.[1]) >= 5 && Number(m?.[1]) <= 6, line);
    // A list cut to the line's length ends in "...".
    for (const host of (m?.[2] ?? '').split(', ').filter((h) => h !== '...'))
      t.true(targets.includes(host), `${host} is not a target: ${line}`);
    await sleep(500);
    t.is(syslog.messages().length, 1, syslog.messages().join('\n'));
    t.deepEqual(fail2banSources(t, syslog.datagrams), [bed.scannerAddr]);
  });
}

rootTest('on a /16, hosts at x.y.z.255 are swept like any other; the capture process tells the monitor the real broadcast', async (t) => {
  const { bed, syslog } = await startScene(t, (b) => {
    // Addresses of a /16 given to the target before the daemon starts, which reads its
    // broadcast addresses once, at start.
    for (let n = 1; n <= 5; n++) sh('ip', ['-n', b.target, 'addr', 'add', `198.19.${n}.255/16`, 'dev', b.targetDev]);
    sh('ip', ['-n', b.scanner, 'route', 'add', '198.19.0.0/16', 'via', b.targetAddr]);
    return ['--slow-scans'];
  });
  const targets = [1, 2, 3, 4, 5].map((n) => `198.19.${n}.255`);
  const r = await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '22', ...targets], 60_000);
  t.is(r.code, 0, r.stderr);
  const line = await waitFor('the sweep line', () => syslog.messages().find((m) => m.includes(' swept port ')), 15_000);
  t.log(line);
  t.regex(line, new RegExp(`^${escaped(bed.scannerAddr)} swept port 22 on 5 hosts over \\d+ s, 198\\.19\\.\\d\\.255, `));
});
