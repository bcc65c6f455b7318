// scanlogd-notify behind the real daemon: nmap scans the target namespace, the daemon
// writes its --json file in a directory laid out as the packages lay out
// /var/log/scanlogd, and the notifier, as its own user, tells a real HTTP endpoint,
// with the daemon's real range lists cut between ranges.

import test from 'ava';
import fs = require('node:fs');
import path = require('node:path');
import { isRoot, runIn, sleep, waitFor } from '../../harness/netns.js';
import { startScene } from '../../harness/testbed-daemon.js';
import { REPO, userIds } from '../../harness/daemon.js';
import type { PacketSpec } from '../helpers/send-packets.js';
import { NOTIFY_USER, makeNotifyDir, startEndpoint, startNotifier, writeConfig, type Received } from '../helpers/notify.js';

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('scanlogd-notify integration tests skipped: they need root for network namespaces and raw sockets');

const SENDER = path.join(REPO, 'dist', 'test', 'helpers', 'send-packets.js');

function message(r: Received | undefined): { title: string; message: string; events: number } {
  return JSON.parse(r?.body ?? '{}') as { title: string; message: string; events: number };
}

/** Lines of the events file that are events of a kind, so far. */
function eventsOf(file: string, kind: string): number {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes(`"event":"${kind}"`)).length;
  } catch {
    return 0;
  }
}

rootTest(
  'nmap scans are delivered: once across a notifier restart, after the endpoint comes back, and across copytruncate rotation',
  async (t) => {
    const d = makeNotifyDir(t);
    const { bed } = await startScene(t, ['--json', d.events]);
    // The daemon made the file root's, mode 0640; the setgid directory gave it the notifier's group.
    const st = fs.statSync(d.events);
    t.is(st.uid, 0);
    t.is(st.mode & 0o777, 0o640);
    t.is(st.gid, userIds(NOTIFY_USER).gid);

    const hook = await startEndpoint(t);
    writeConfig(d.config, [`webhook = ${hook.url}/hook`, 'interval = 2', 'wait = 5', 'timeout = 2']);
    const args = ['--config', d.config, '--events', d.events, '--state', d.state, '--hostname', 'target'];
    const nmap = async (ports: string): Promise<void> => {
      const r = await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', ports, bed.targetAddr]);
      t.is(r.code, 0, r.stderr);
    };

    let notifier = startNotifier(t, args);
    await waitFor('the notifier to follow the file', () => (notifier.stderr().includes('following') ? true : undefined));
    await nmap('1-100');
    const [first] = await hook.waitDelivered(1, 20000);
    // The scan and its end (3 s later) within the wait: one message with how far it went.
    t.is(message(first).title, `target: port scan from ${bed.scannerAddr}`);
    t.regex(
      message(first).message,
      new RegExp(
        `^${bed.scannerAddr.replace(/\./g, '\\.')} → ${bed.targetAddr.replace(/\./g, '\\.')}: 100 ports \\(1-100\\), \\d+ packets, (at \\d\\d:\\d\\d:\\d\\d|\\d\\d:\\d\\d:\\d\\d-\\d\\d:\\d\\d:\\d\\d)\n`,
      ),
    );
    t.is(message(first).events, 2);

    // Stopped while a scan happens; the endpoint fails twice when it is back.
    t.is(await notifier.stop(), 0);
    await nmap('101-200');
    await waitFor('the second scan_end', () => (eventsOf(d.events, 'scan_end') >= 2 ? true : undefined), 10000);
    hook.script([{ status: 500, body: 'maintenance' }, { status: 503 }]);
    notifier = startNotifier(t, args);
    const second = await hook.waitDelivered(2, 30000);
    t.regex(message(second[1]).message, /: 100 ports \(101-200\)/);
    t.notRegex(message(second[1]).message, /\(1-100\)/);
    t.regex(notifier.stderr(), /delivery failed \(HTTP 500: maintenance\)/);
    t.regex(notifier.stderr(), /delivery failed \(HTTP 503\)/);

    // logrotate's copytruncate in the middle: the daemon writes on at the new end.
    fs.copyFileSync(d.events, `${d.events}.1`);
    fs.truncateSync(d.events, 0);
    await nmap('201-300');
    const third = await hook.waitDelivered(3, 20000);
    t.regex(message(third[2]).message, /: 100 ports \(201-300\)/);
    await sleep(2500);
    t.is(hook.delivered().length, 3, 'nothing delivered twice');
    t.is(hook.all().length, 5);
    t.regex(notifier.stderr(), /was truncated \(copytruncate rotation\)/);
  },
);

rootTest('a flood of scans from 40 sources gives one digest with the flood in one sentence, not 40 messages', async (t) => {
  const d = makeNotifyDir(t);
  const { bed } = await startScene(t, ['--json', d.events, '--log-delay', '1']);
  const hook = await startEndpoint(t);
  writeConfig(d.config, [`webhook = ${hook.url}/hook`, 'interval = 60', 'wait = 3']);
  const notifier = startNotifier(t, ['--config', d.config, '--events', d.events, '--state', d.state, '--hostname', 'target']);
  await waitFor('the notifier to follow the file', () => (notifier.stderr().includes('following') ? true : undefined));
  const packets: PacketSpec[] = [];
  for (let k = 0; k < 40; k++) {
    for (let i = 0; i < 7; i++)
      packets.push({ src: `198.19.7.${10 + k}`, dst: bed.targetAddr, sport: 42000 + k, dport: 20 + i, flags: 0x02 });
  }
  const r = await runIn(bed.scanner, process.execPath, [SENDER, JSON.stringify(packets)]);
  t.is(r.code, 0, r.stderr);
  const [digest] = await hook.waitDelivered(1, 15000);
  const m = message(digest);
  t.is(m.title, 'target: 40 port scans from 40 sources');
  const lines = m.message.split('\n');
  t.is(lines.filter((l) => / → /.test(l)).length, 10);
  t.true(lines.includes('… and 30 more sources (30 scans)'), m.message);
  t.regex(m.message, /\nFlood of scans from \d\d:\d\d:\d\d to \d\d:\d\d:\d\d: 35 scans were not logged to syslog\.\n/);
  // The scan_end events that follow wait for the 60 s interval: still one message.
  await waitFor('the scan_end events', () => (eventsOf(d.events, 'scan_end') >= 40 ? true : undefined), 10000);
  await sleep(1000);
  t.is(hook.all().length, 1);
});

rootTest(
  "a scan of many ranges: the message's port list is the daemon's own ranges, cut between two of them, and counts the ports it leaves out",
  async (t) => {
    const d = makeNotifyDir(t);
    const { bed } = await startScene(t, ['--json', d.events]);
    const hook = await startEndpoint(t);
    writeConfig(d.config, [`webhook = ${hook.url}/hook`, 'interval = 2', 'wait = 5']);
    const notifier = startNotifier(t, ['--config', d.config, '--events', d.events, '--state', d.state, '--hostname', 'target']);
    await waitFor('the notifier to follow the file', () => (notifier.stderr().includes('following') ? true : undefined));
    const ports = '1-100,110,135,139,143,443,445,993,995,1433,1521,3306,5432,8000-8999';
    const r = await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', ports, bed.targetAddr]);
    t.is(r.code, 0, r.stderr);
    const [got] = await hook.waitDelivered(1, 20000);
    const end = fs
      .readFileSync(d.events, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"event":"scan_end"'))
      .map((l) => JSON.parse(l) as { port_ranges: string; distinct_ports: number })[0];
    t.is(end?.port_ranges, ports, 'the daemon saw every port nmap probed');
    const m = message(got);
    const line = m.message.split('\n')[0] as string;
    const [, count, list, rest] = /: (\d+) ports \((.*) and (\d+) more\), /.exec(line) ?? [];
    t.truthy(list, line);
    t.is(Number(count), end?.distinct_ports ?? -1);
    t.true(`${list as string} and ${rest as string} more`.length <= 48, line);
    const shown = (list as string).split(', ');
    t.deepEqual(shown, ports.split(',').slice(0, shown.length), 'whole ranges of the daemon, in order');
    const shownPorts = shown.reduce((n, r) => n + (r.includes('-') ? Number(r.split('-')[1]) - Number(r.split('-')[0]) + 1 : 1), 0);
    t.is(Number(rest), Number(count) - shownPorts);
    t.log(line);
  },
);
