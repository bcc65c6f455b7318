// The real notifier as user scanlogd-notify, reading an events file the way it reads
// the daemon's, against a real HTTP server in place of Pushover, ntfy and a webhook,
// and against exim behind /usr/sbin/sendmail: what arrives, what arrives once across
// a restart, after a failing or hanging endpoint, across rotation, and what is refused.

import test from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import { isRoot, sleep, waitFor } from '../../harness/netns.js';
import { userIds as userIdsOf } from '../../harness/daemon.js';
import { VERSION } from '../../src/shared/version.js';
import { lineOf, suppressedEvent } from '../helpers/events.js';
import {
  NOTIFY_USER,
  appendEvents,
  makeNotifyDir,
  notifierEntry,
  scanLine,
  startEndpoint,
  startNotifier,
  writeConfig,
  explained,
  runNotifierOnce,
  watchMailbox,
  notifierArgs,
  webhookScene,
  type NotifyDir,
} from '../helpers/notify.js';

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('scanlogd-notify tests skipped: they need root to run the notifier as its own user');

/** Tokens of the shapes Pushover and ntfy document. */
const PUSHOVER_TOKEN = 'azGDORePK8gMaC0QOYAMyEEuzJnyUi';
const PUSHOVER_USER = 'uQiRzpo4DXghDmr9QzzfQu27cmVRsG';
const NTFY_TOKEN = 'tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2';

/** Fast timing for tests: a message at most every 1.5 s, the first 0.2 s after its event. */
const FAST = ['interval = 1.5', 'wait = 0.2', 'timeout = 2'];

/** Today at `clock` ("HH:MM:SS"), local time. */
function today(clock: string): number {
  const [h, m, sec] = clock.split(':').map(Number);
  const d = new Date();
  d.setHours(h as number, m, sec, 0);
  return d.getTime();
}

const args = (d: NotifyDir): string[] => notifierArgs(d);

function webhookMessage(body: string): { title: string; message: string; events: number } {
  return JSON.parse(body) as { title: string; message: string; events: number };
}

rootTest(
  'webhook: a scan is delivered as one message saying who, which ports, how many, since when; a corrupt line in between is reported and skipped',
  async (t) => {
    const d = makeNotifyDir(t);
    const hook = await startEndpoint(t);
    writeConfig(d.config, [`webhook = ${hook.url}/hook`, ...FAST]);
    appendEvents(d.events, [scanLine('198.18.9.9', [1], today('08:00:00'))]); // before the first start: old news
    const n = startNotifier(t, args(d));
    await waitFor('the notifier to follow the file', () => (n.stderr().includes('following') ? true : undefined));
    await sleep(700);
    appendEvents(d.events, ['{"event":"scan","source":"198.18.0.2","destinations":["198.1', 'not json at all']);
    appendEvents(d.events, [scanLine('198.18.0.2', [21, 22, 23, 25, 53, 80, 111], today('09:15:03'))]);
    const [got] = await hook.waitDelivered(1);
    const m = webhookMessage(got?.body ?? '');
    t.is(got?.headers['content-type'], 'application/json');
    t.is(m.title, 'target: port scan from 198.18.0.2');
    t.is(m.message, '198.18.0.2 → 198.18.0.1: 7 ports (21-23, 25, 53, 80, 111), 7 packets, at 09:15:03\n(1 event from scanlogd on target)');
    t.is(m.events, 1);
    // The cut line and the garbage: the first named by its offset, the second (the same fault) counted; neither stops the good event.
    t.regex(n.stderr(), /events\.json: line at offset \d+ skipped: not JSON \(1 refused so far\)\n/);
    t.is(n.stderr().match(/skipped/g)?.length, 1, n.stderr());
    t.is(got?.headers['user-agent'], `scanlogd-notify/${VERSION}`);
    await sleep(2000);
    t.is(hook.all().length, 1, 'the event written before the first start is not sent');
    t.is(await n.stop(), 0);
  },
);

rootTest('an endpoint answering 500 is retried with backoff and reported; the message goes out once it answers 200', async (t) => {
  const { d, hook, notifier: n } = await webhookScene(t, FAST);
  // Each answer names its own request, as many services do: the failure is the same one all the same.
  hook.script([
    { status: 500, body: 'database down (request 7f3a)' },
    { status: 500, body: 'database down (request 91c2)' },
  ]);
  appendEvents(d.events, [scanLine('198.18.0.7', [1, 2, 3, 4, 5, 6, 7], today('10:00:00'))]);
  const [got] = await explained(n, hook.waitDelivered(1, 30000));
  t.is(hook.all().length, 3);
  t.true(
    (hook.all()[2] as { at: number }).at - (hook.all()[1] as { at: number }).at >= 3500,
    'the second retry waits longer than the first',
  );
  t.regex(webhookMessage(got?.body ?? '').title, /port scan from 198\.18\.0\.7/);
  t.regex(
    n.stderr(),
    /webhook \(http:\/\/127\.0\.0\.1:\d+\): delivery failed \(HTTP 500: database down \(request 7f3a\)\); attempt 1, next in 2 s\n/,
  );
  // The same failure again is counted, not said again.
  t.notRegex(n.stderr(), /attempt 2/);
  // Said once the answer is read, a moment after the endpoint has sent it.
  await waitFor('the recovery report', () => (n.stderr().includes('delivered after') ? true : undefined));
  t.regex(n.stderr(), /delivered after 3 attempts \(1 event\) \(after 1 more failures since \d\d:\d\d:\d\d\)\n/);
});

rootTest(
  'events still undelivered after give-up are dropped, counted, reported, and said in the next message that gets through',
  async (t) => {
    const { d, hook, notifier: n } = await webhookScene(t, ['interval = 1', 'wait = 0.2', 'give-up = 10']);
    hook.fallback = { status: 500, body: 'down' };
    appendEvents(d.events, [
      scanLine('198.18.0.10', [1, 2, 3, 4, 5, 6, 7], today('10:30:00')),
      scanLine('198.18.0.11', [1, 2, 3, 4, 5, 6, 7], today('10:30:01')),
    ]);
    await waitFor('the events to be given up', () => (n.stderr().includes('2 events dropped') ? true : undefined), 30000, 100);
    t.regex(
      n.stderr(),
      /webhook \(http:\/\/127\.0\.0\.1:\d+\): 2 events dropped: not delivered within 10 s; last error: HTTP 500; the next message says so/,
    );
    hook.fallback = { status: 200 };
    appendEvents(d.events, [scanLine('198.18.0.12', [1, 2, 3, 4, 5, 6, 7], today('10:31:00'))]);
    const [got] = await hook.waitDelivered(1, 20000);
    const m = webhookMessage(got?.body ?? '');
    t.is(m.title, 'target: port scan from 198.18.0.12');
    // In the notifier's words only: the endpoint's own text stays in the operator's log.
    t.regex(m.message, /\n2 earlier events were not delivered here and dropped \(not delivered within 10 s; last error: HTTP 500\)\.\n/);
  },
);

rootTest('a webhook that never answers times out; the next good event still goes out', async (t) => {
  const { d, hook, notifier: n } = await webhookScene(t, ['interval = 1', 'wait = 0.2', 'timeout = 1']);
  hook.script(['hang']);
  appendEvents(d.events, [scanLine('198.18.0.8', [1, 2, 3, 4, 5, 6, 7], today('10:00:00'))]);
  await waitFor('the timeout', () => (n.stderr().includes('no answer within 1 s') ? true : undefined), 10000);
  appendEvents(d.events, [scanLine('198.18.0.9', [1, 2, 3, 4, 5, 6, 7], today('10:00:05'))]);
  const [got] = await hook.waitDelivered(1, 15000);
  const m = webhookMessage(got?.body ?? '');
  // The retry summarises everything waiting: the event of the hung attempt and the new one.
  t.is(m.title, 'target: 2 port scans from 2 sources');
  t.regex(m.message, /198\.18\.0\.8 →/);
  t.regex(m.message, /198\.18\.0\.9 →/);
});

rootTest('a restart delivers what was written while stopped, once, and repeats nothing', async (t) => {
  const { d, hook, notifier: first } = await webhookScene(t, FAST);
  appendEvents(d.events, [scanLine('198.18.1.1', [1, 2, 3, 4, 5, 6, 7], today('11:00:00'))]);
  await hook.waitDelivered(1);
  t.is(await first.stop(), 0);
  appendEvents(d.events, [
    scanLine('198.18.1.2', [1, 2, 3, 4, 5, 6, 7], today('11:01:00')),
    scanLine('198.18.1.3', [8, 9, 10, 11, 12, 13, 14], today('11:01:01')),
  ]);
  const second = startNotifier(t, args(d));
  const got = await hook.waitDelivered(2);
  await sleep(2500);
  t.is(hook.all().length, 2);
  const m = webhookMessage(got[1]?.body ?? '');
  t.is(m.title, 'target: 2 port scans from 2 sources');
  t.notRegex(m.message, /198\.18\.1\.1 /);
  t.is(m.events, 2);
  t.is(await second.stop(), 0);
  // A third start with nothing new sends nothing.
  const third = startNotifier(t, args(d));
  await sleep(2500);
  t.is(hook.all().length, 2);
  t.is(await third.stop(), 0);
});

rootTest(
  'rotation: renamed (a new file under the name) and copytruncate, in the middle of following; nothing lost, nothing twice',
  async (t) => {
    // An interval long enough that the lines on both sides of the rename share a message, however slow the machine.
    const { d, hook, notifier: n } = await webhookScene(t, ['interval = 3', 'wait = 0.1']);
    appendEvents(d.events, [scanLine('198.18.2.1', [1, 2, 3, 4, 5, 6, 7], today('12:00:00'))]);
    await hook.waitDelivered(1);
    // Rename: one more line reaches the old file after the rename, then a new file appears.
    fs.renameSync(d.events, `${d.events}.1`);
    appendEvents(`${d.events}.1`, [scanLine('198.18.2.2', [1, 2, 3, 4, 5, 6, 7], today('12:00:01'))]);
    await sleep(700);
    appendEvents(d.events, [scanLine('198.18.2.3', [1, 2, 3, 4, 5, 6, 7], today('12:00:02'))]);
    const afterRename = await hook.waitDelivered(2);
    await sleep(1500);
    // Copytruncate: copied, emptied in place, written on.
    fs.copyFileSync(d.events, `${d.events}.2`);
    fs.truncateSync(d.events, 0);
    await sleep(700);
    appendEvents(d.events, [scanLine('198.18.2.4', [1, 2, 3, 4, 5, 6, 7], today('12:00:03'))]);
    const all = await hook.waitDelivered(3);
    await sleep(1500);
    t.is(hook.all().length, 3);
    const sources = all.map((r) => [...webhookMessage(r.body).message.matchAll(/198\.18\.2\.(\d)/g)].map((m) => m[1]).join(','));
    t.deepEqual(sources, ['1', '2,3', '4']);
    t.is(afterRename.length, 2);
    t.regex(n.stderr(), /was replaced \(rotation\)/);
    t.regex(n.stderr(), /was truncated \(copytruncate rotation\)/);
  },
);

rootTest('rotated while stopped: the rest of the old file (events.json.1) is read first, then the new one', async (t) => {
  const { d, hook, notifier: first } = await webhookScene(t, FAST);
  await sleep(600);
  t.is(await first.stop(), 0);
  appendEvents(d.events, [scanLine('198.18.3.1', [1, 2, 3, 4, 5, 6, 7], today('13:00:00'))]);
  fs.renameSync(d.events, `${d.events}.1`);
  appendEvents(d.events, [scanLine('198.18.3.2', [1, 2, 3, 4, 5, 6, 7], today('13:00:01'))]);
  const second = startNotifier(t, args(d));
  const [got] = await hook.waitDelivered(1);
  t.regex(webhookMessage(got?.body ?? '').message, /198\.18\.3\.1 [^]*198\.18\.3\.2 /);
  t.regex(second.stderr(), /rotated while stopped; reading the rest of .*events\.json\.1 first/);
});

rootTest('an events file that does not exist yet: the notifier waits for it and reads it from the start', async (t) => {
  const d = makeNotifyDir(t);
  const hook = await startEndpoint(t);
  writeConfig(d.config, [`webhook = ${hook.url}/hook`, ...FAST]);
  const n = startNotifier(t, args(d));
  await waitFor('the waiting notice', () => (n.stderr().includes('does not exist (yet); waiting for it') ? true : undefined));
  appendEvents(d.events, [scanLine('198.18.4.1', [1, 2, 3, 4, 5, 6, 7], today('14:00:00'))]);
  const [got] = await hook.waitDelivered(1);
  t.regex(webhookMessage(got?.body ?? '').title, /198\.18\.4\.1/);
});

rootTest('a burst of 40 scans and a flood notice give one digest, not 40 messages; the next burst waits for the interval', async (t) => {
  const { d, hook } = await webhookScene(t, ['interval = 3', 'wait = 0.5']);
  const burst = (from: number): string[] =>
    Array.from({ length: 20 }, (_, i) => scanLine(`198.19.0.${from + i}`, [1, 2, 3, 4, 5, 6, 7], today('15:00:00')));
  appendEvents(d.events, [...burst(1), lineOf(suppressedEvent('start', today('15:00:01')))]);
  appendEvents(d.events, [...burst(21), lineOf(suppressedEvent('end', today('15:00:30'), 35))]);
  const [digest] = await hook.waitDelivered(1);
  const m = webhookMessage(digest?.body ?? '');
  t.is(m.title, 'target: 40 port scans from 40 sources');
  t.is(m.events, 42);
  const lines = m.message.split('\n');
  t.is(lines.length, 10 + 3);
  t.is(lines[10], '… and 30 more sources (30 scans)');
  t.is(lines[11], 'Flood of scans from 15:00:01 to 15:00:30: 35 scans were not logged to syslog.');
  appendEvents(d.events, [scanLine('198.19.1.1', [1, 2, 3, 4, 5, 6, 7], today('15:01:00'))]);
  const both = await hook.waitDelivered(2, 10000);
  const gap = (both[1] as { at: number }).at - (both[0] as { at: number }).at;
  t.true(gap >= 2900, `the second message came ${gap} ms after the first`);
  t.is(hook.all().length, 2);
});

rootTest(
  'Pushover: the form fields of its API and priority; a 400 is not sent again, its events are said in the next message, and the token never shown',
  async (t) => {
    const d = makeNotifyDir(t);
    const api = await startEndpoint(t, { status: 200, body: '{"status":1,"request":"x"}' });
    api.script([{ status: 400, body: '{"status":0,"errors":["application token is invalid"]}' }]);
    writeConfig(d.config, [
      `pushover-token = ${PUSHOVER_TOKEN}`,
      `pushover-user = ${PUSHOVER_USER}`,
      `pushover-url = ${api.url}/1/messages.json`,
      'pushover-priority = 1',
      ...FAST,
    ]);
    const n = startNotifier(t, args(d));
    await waitFor('the notifier to start', () => (n.stderr().includes('following') ? true : undefined));
    appendEvents(d.events, [scanLine('198.18.5.1', [22, 80, 443, 21, 23, 25, 53], today('16:00:00'))]);
    await waitFor('the refusal', () => (n.stderr().includes('refused') ? true : undefined));
    // Pushover asks clients not to send a refused request again: nothing more for 5 s.
    await sleep(5000);
    t.is(api.all().length, 1, 'the refused message is not sent again');
    t.regex(
      n.stderr(),
      /pushover \(http:\/\/127\.0\.0\.1:\d+\): the message was refused \(HTTP 400: \{"status":0,"errors":\["application token is invalid"\]\}\); not sent again: 1 event dropped for this channel, the next message says so\n/,
    );
    appendEvents(d.events, [scanLine('198.18.5.2', [22, 80, 443, 21, 23, 25, 53], today('16:01:00'))]);
    const [got] = await api.waitDelivered(1);
    t.is(api.all().length, 2);
    t.is(got?.url, '/1/messages.json');
    t.is(got?.headers['content-type'], 'application/x-www-form-urlencoded');
    const form = Object.fromEntries(new URLSearchParams(got?.body ?? ''));
    t.deepEqual(Object.keys(form).sort(), ['message', 'priority', 'title', 'token', 'user']);
    t.is(form['token'], PUSHOVER_TOKEN);
    t.is(form['user'], PUSHOVER_USER);
    t.is(form['priority'], '1');
    t.is(form['title'], 'target: port scan from 198.18.5.2');
    t.regex(form['message'] ?? '', /^198\.18\.5\.2 → 198\.18\.0\.1: 7 ports \(21-23, 25, 53, 80, 443\)/);
    t.regex(form['message'] ?? '', /\n1 earlier event was not delivered here and dropped \(refused by the service: HTTP 400\)\.\n/);
    await waitFor('the recovery report', () => (n.stderr().includes('delivered again') ? true : undefined));
    t.regex(n.stderr(), /pushover \(http:\/\/127\.0\.0\.1:\d+\): delivered again \(1 event\)\n/);
    t.notRegex(n.stderr(), /azGDORe|uQiRzpo/, 'the token and user key never appear in messages');
  },
);

rootTest('ntfy: the text POSTed to the topic URL with Title, Priority, Tags and a bearer token', async (t) => {
  const d = makeNotifyDir(t);
  const topic = await startEndpoint(t);
  writeConfig(d.config, [`ntfy-url = ${topic.url}/scans`, `ntfy-token = ${NTFY_TOKEN}`, 'ntfy-priority = 4', ...FAST]);
  startNotifier(t, args(d));
  await sleep(800);
  appendEvents(d.events, [scanLine('198.18.6.1', [1, 2, 3, 4, 5, 6, 7], today('16:30:00'))]);
  const [got] = await topic.waitDelivered(1);
  t.is(got?.url, '/scans');
  t.is(got?.headers['title'], 'target: port scan from 198.18.6.1');
  t.is(got?.headers['priority'], '4');
  t.is(got?.headers['tags'], 'rotating_light');
  t.is(got?.headers['authorization'], `Bearer ${NTFY_TOKEN}`);
  t.regex(got?.body ?? '', /^198\.18\.6\.1 → 198\.18\.0\.1: 7 ports \(1-7\)/);
});

rootTest('mail through the real sendmail interface (exim): the message lands in a local mailbox', async (t) => {
  const mailbox = watchMailbox(t);
  const d = makeNotifyDir(t);
  const tag = `mailtest-${process.pid}`;
  writeConfig(d.config, ['mail-to = mail@localhost', ...FAST]);
  const n = startNotifier(t, [...args(d).slice(0, -1), tag]);
  await waitFor('the notifier to start', () => (n.stderr().includes('following') ? true : undefined));
  appendEvents(d.events, [scanLine('198.18.7.1', [1, 2, 3, 4, 5, 6, 7], today('17:00:00'))]);
  const mail = await explained(n, mailbox.waitSubject(`${tag}: port scan from 198.18.7.1`));
  t.regex(mail, /^To: mail@localhost$/m);
  t.regex(mail, /^Auto-Submitted: auto-generated$/m);
  t.regex(mail, /^198\.18\.7\.1 → 198\.18\.0\.1: 7 ports \(1-7\), 7 packets, at 17:00:00$/m);
  t.is(n.stderr().match(/delivery failed/g), null, n.stderr());
});

rootTest(
  "refused at start, with one line and exit 1: root, a token on the command line, a configuration readable by others or not root's, no channel",
  async (t) => {
    const d = makeNotifyDir(t);
    const run = (argv: string[], asRoot = false): Promise<{ code: number | null; stderr: string }> => {
      const n = startNotifier(t, argv, { asRoot });
      return n.exited.then((code) => ({ code, stderr: n.stderr() }));
    };
    writeConfig(d.config, ['webhook = http://127.0.0.1:9/hook']);
    const cases: Array<[string, () => void, string[], boolean, RegExp]> = [
      [
        'root',
        () => undefined,
        args(d),
        true,
        /^scanlogd-notify: refusing to run as root: it needs no privilege; run it as its own user \(the packages create scanlogd-notify\)\n$/,
      ],
      [
        'token on the command line',
        () => undefined,
        [...args(d), '--pushover-token', 'x'],
        false,
        /^scanlogd-notify: --pushover-token is refused on the command line, where any local user can read it; set "pushover-token = \.\.\." in the configuration file \(root-owned, not readable by others\)\n$/,
      ],
      [
        'readable by others',
        () => fs.chmodSync(d.config, 0o644),
        args(d),
        false,
        /^scanlogd-notify: .*notify\.conf: readable by others \(mode 644\); it holds tokens and passwords: chmod o-r\n$/,
      ],
      [
        "not root's",
        () => {
          fs.chmodSync(d.config, 0o640);
          fs.chownSync(d.config, 1, userIdsOf(NOTIFY_USER).gid);
        },
        args(d),
        false,
        /^scanlogd-notify: .*notify\.conf: owned by uid 1, not root\n$/,
      ],
      [
        'no channel',
        () => writeConfig(d.config, ['interval = 5']),
        args(d),
        false,
        /^scanlogd-notify: no channel configured: set pushover-token and pushover-user, ntfy-url, webhook or mail-to in .*notify\.conf\n$/,
      ],
      [
        'half of Pushover',
        () => writeConfig(d.config, [`pushover-user = ${PUSHOVER_USER}`]),
        args(d),
        false,
        /^scanlogd-notify: .*notify\.conf: Pushover needs both pushover-token and pushover-user\n$/,
      ],
      [
        'unknown key',
        () => writeConfig(d.config, ['webhok = http://x/']),
        args(d),
        false,
        /^scanlogd-notify: .*notify\.conf:1: unknown key "webhok"\n$/,
      ],
      [
        "half of ntfy's basic authentication",
        () => writeConfig(d.config, ['ntfy-url = https://ntfy.example/t', 'ntfy-user = alice']),
        args(d),
        false,
        /^scanlogd-notify: .*notify\.conf: ntfy basic authentication needs both ntfy-user and ntfy-password\n$/,
      ],
      [
        'not an http URL',
        () => writeConfig(d.config, ['webhook = ftp://x/']),
        args(d),
        false,
        /^scanlogd-notify: .*notify\.conf:1: bad value for "webhook": must be an http: or https: URL\.\n$/,
      ],
      [
        'a mail address that would add a header',
        () => writeConfig(d.config, ['mail-to = root@localhost, evil@example.org']),
        args(d),
        false,
        /^scanlogd-notify: .*notify\.conf:1: bad value "root@localhost, evil@example\.org" for "mail-to": must be one address, like root@localhost\.\n$/,
      ],
      [
        'a webhook URL on the command line',
        () => writeConfig(d.config, ['mail-to = root@localhost']),
        [...args(d), '--webhook', 'https://hooks.example/T0/B0/secret'],
        false,
        /^scanlogd-notify: --webhook is refused on the command line, where any local user can read it; set "webhook = \.\.\." in the configuration file \(root-owned, not readable by others\)\n$/,
      ],
      [
        'an ntfy topic URL on the command line',
        () => undefined,
        [...args(d), '--ntfy-url=https://ntfy.sh/secret-topic'],
        false,
        /^scanlogd-notify: --ntfy-url is refused on the command line, where any local user can read it; set "ntfy-url = \.\.\." in the configuration file \(root-owned, not readable by others\)\n$/,
      ],
      [
        'a URL with a user and password',
        () => writeConfig(d.config, ['webhook = https://alice:hunter2@hooks.example/x']),
        args(d),
        false,
        /^scanlogd-notify: .*notify\.conf:1: bad value for "webhook": must not hold a user name or password \(user:password@\): use the ntfy-user and ntfy-password keys, or a token\.\n$/,
      ],
      [
        'a comment after a value',
        () => writeConfig(d.config, ['webhook = https://hooks.example/x # the team channel']),
        args(d),
        false,
        /^scanlogd-notify: .*notify\.conf:1: a comment after the value of "webhook"; comments are lines of their own\n$/,
      ],
      [
        'a Pushover token of the wrong shape',
        () => writeConfig(d.config, ['pushover-token = not a token!', `pushover-user = ${PUSHOVER_USER}`]),
        args(d),
        false,
        /^scanlogd-notify: .*notify\.conf:1: bad value for "pushover-token": must be 30 letters and digits, as Pushover shows it\.\n$/,
      ],
      [
        "a Pushover token of the wrong shape, to --check as root (the init script's check before a start)",
        () => writeConfig(d.config, ['pushover-token = abc', `pushover-user = ${PUSHOVER_USER}`]),
        [...args(d), '--check'],
        true,
        /^scanlogd-notify: .*notify\.conf:1: bad value for "pushover-token": must be 30 letters and digits, as Pushover shows it\.\n$/,
      ],
      [
        'a quoted Pushover user key',
        () => writeConfig(d.config, [`pushover-token = ${PUSHOVER_TOKEN}`, `pushover-user = "${PUSHOVER_USER}"`]),
        args(d),
        false,
        /^scanlogd-notify: .*notify\.conf:2: bad value for "pushover-user": must be 30 letters and digits, as Pushover shows it\.\n$/,
      ],
      [
        'an ntfy token of the wrong shape',
        () => writeConfig(d.config, ['ntfy-url = https://ntfy.sh/t', 'ntfy-token = abc']),
        args(d),
        false,
        /^scanlogd-notify: .*notify\.conf:2: bad value for "ntfy-token": must be tk_ and 29 letters and digits, as ntfy shows it\.\n$/,
      ],
      [
        'give-up within the interval',
        () => writeConfig(d.config, ['webhook = http://127.0.0.1:9/', 'interval = 600', 'give-up = 60']),
        args(d),
        false,
        /^scanlogd-notify: give-up \(60 s\) must be longer than interval plus wait \(605 s\): events would be dropped before their first attempt\n$/,
      ],
    ];
    for (const [what, prepare, argv, asRoot, expected] of cases) {
      prepare();
      const r = await run(argv, asRoot);
      t.is(r.code, 1, what);
      t.regex(r.stderr, expected, what);
    }
    // --check names the channels, without secrets, and may run as root (the init script's check).
    writeConfig(d.config, [`pushover-token = ${PUSHOVER_TOKEN}`, `pushover-user = ${PUSHOVER_USER}`, 'mail-to = root@localhost']);
    const check = childProcess.spawnSync(process.execPath, [notifierEntry(), ...args(d).slice(0, 6), '--check'], { encoding: 'utf8' });
    t.is(check.status, 0, check.stderr);
    t.is(
      check.stdout,
      [
        `${d.config}: pushover (https://api.pushover.net), mail (root@localhost)`,
        `events file ${d.events}: not there yet (the notifier waits for it) (as ${NOTIFY_USER})`,
        `state directory ${d.dir}/state: writable (as ${NOTIFY_USER})`,
        '',
      ].join('\n'),
    );
    t.notRegex(check.stdout, /azGDORe|uQiRzpo/);
  },
);

rootTest(
  '--test: one message through each channel, to the stand-in endpoints and a real mailbox; per channel accepted or not, and the exit status says so',
  async (t) => {
    const mailbox = watchMailbox(t);
    const d = makeNotifyDir(t);
    const pushover = await startEndpoint(t, { status: 200, body: '{"status":1}' });
    const topic = await startEndpoint(t);
    const hook = await startEndpoint(t);
    const tag = `selftest-${process.pid}`;
    writeConfig(d.config, [
      `pushover-token = ${PUSHOVER_TOKEN}`,
      `pushover-user = ${PUSHOVER_USER}`,
      `pushover-url = ${pushover.url}/1/messages.json`,
      `ntfy-url = ${topic.url}/scans`,
      `webhook = ${hook.url}/hook`,
      'mail-to = mail@localhost',
    ]);
    const testArgs = ['--config', d.config, '--hostname', tag, '--test'];
    const ok = await runNotifierOnce(testArgs);
    t.is(ok.code, 0, ok.stdout + ok.stderr);
    t.deepEqual(ok.stdout.split('\n'), [
      `pushover (${pushover.url}): accepted`,
      `ntfy (${topic.url}): accepted`,
      `webhook (${hook.url}): accepted`,
      'mail (mail@localhost): accepted',
      '',
    ]);
    t.is(new URLSearchParams(pushover.delivered()[0]?.body ?? '').get('title'), `${tag}: scanlogd-notify test`);
    t.is(topic.delivered()[0]?.headers['title'], `${tag}: scanlogd-notify test`);
    t.is((JSON.parse(hook.delivered()[0]?.body ?? '{}') as { events: number }).events, 0);
    const mail = await mailbox.waitSubject(`${tag}: scanlogd-notify test`);
    t.regex(mail, new RegExp(`^A test message from scanlogd-notify on ${tag}\\. If you read this, this channel works\\.$`, 'm'));
    // One channel failing: said with why, the others still tried, exit 1; root may run it.
    hook.fallback = { status: 500, body: 'maintenance' };
    const failing = await runNotifierOnce(testArgs, { asRoot: true });
    t.is(failing.code, 1);
    t.regex(failing.stdout, new RegExp(`^webhook \\(${hook.url.replace(/\./g, '\\.')}\\): FAILED \\(HTTP 500: maintenance\\)$`, 'm'));
    t.regex(failing.stdout, /^pushover \(.*\): accepted$/m);
    t.is(pushover.delivered().length, 2);
  },
);

rootTest("--check as root looks at the events file and the state directory as the notifier's user would", async (t) => {
  const d = makeNotifyDir(t);
  writeConfig(d.config, ['mail-to = root@localhost']);
  const check = (): ReturnType<typeof runNotifierOnce> => runNotifierOnce([...args(d).slice(0, 6), '--check'], { asRoot: true });
  appendEvents(d.events, []);
  const good = await check();
  t.is(good.code, 0, good.stderr);
  t.deepEqual(good.stdout.split('\n').slice(1), [
    `events file ${d.events}: readable (as ${NOTIFY_USER})`,
    `state directory ${d.dir}/state: writable (as ${NOTIFY_USER})`,
    '',
  ]);
  t.deepEqual(fs.readdirSync(`${d.dir}/state`), [], 'the probe file is gone');
  // Root could read it; the notifier cannot.
  fs.chmodSync(d.events, 0o600);
  const unreadable = await check();
  t.is(unreadable.code, 1);
  t.is(unreadable.stderr, `scanlogd-notify: events file ${d.events}: Permission denied\n`);
  fs.chmodSync(d.events, 0o640);
  fs.chownSync(`${d.dir}/state`, 0, 0);
  const unwritable = await check();
  t.is(unwritable.code, 1);
  t.is(unwritable.stderr, `scanlogd-notify: state directory ${d.dir}/state: cannot write in it: Permission denied\n`);
  // The user's own run of --check says the same.
  const asUser = await runNotifierOnce([...args(d).slice(0, 6), '--check']);
  t.is(asUser.stderr, unwritable.stderr);
});
