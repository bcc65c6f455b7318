// How the real notifier (as its own user) meets failures: a 429 is waited out as its
// Retry-After asks; an events file it may not read is said once, not once a poll, and
// "following" waits for the first read; an endpoint that cannot be reached is named by
// scheme, host and port, never by the secret rest of its URL.

import test from 'ava';
import fs = require('node:fs');
import net = require('node:net');
import { isRoot, sleep, waitFor } from '../../harness/netns.js';
import {
  appendEvents,
  explained,
  makeNotifyDir,
  notifierArgs,
  scanLine,
  startEndpoint,
  startNotifier,
  writeConfig,
} from '../helpers/notify.js';

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('scanlogd-notify failure tests skipped: they need root to run the notifier as its own user');

rootTest('HTTP 429 with Retry-After: the next attempt waits as long as asked, the message goes out then', async (t) => {
  const d = makeNotifyDir(t);
  const hook = await startEndpoint(t);
  writeConfig(d.config, [`webhook = ${hook.url}/hook`, 'interval = 1', 'wait = 0.2']);
  appendEvents(d.events, []);
  const n = startNotifier(t, notifierArgs(d));
  await waitFor('the notifier to follow the file', () => (n.stderr().includes('following') ? true : undefined));
  hook.script([{ status: 429, body: 'slow down', headers: { 'retry-after': '5' } }]);
  appendEvents(d.events, [scanLine('198.18.30.1', [21, 22, 23, 25, 53, 80, 111], Date.now())]);
  await explained(n, hook.waitDelivered(1, 15000));
  const [first, second] = hook.all();
  const gap = (second?.at ?? 0) - (first?.at ?? 0);
  // Without Retry-After the first retry comes after 2 s.
  t.true(gap >= 4900 && gap < 7000, `the retry came ${gap} ms after the 429`);
  t.is(hook.all().length, 2);
  t.regex(n.stderr(), /delivery failed \(HTTP 429 \(too many requests; asked to wait 5 s\): slow down\); attempt 1, next in 5 s\n/);
});

rootTest(
  'an events file the notifier may not read: one line, not one a poll; "following" only once it reads; then delivered',
  async (t) => {
    const d = makeNotifyDir(t);
    const hook = await startEndpoint(t);
    writeConfig(d.config, [`webhook = ${hook.url}/hook`, 'interval = 1', 'wait = 0.2']);
    appendEvents(d.events, []);
    fs.chmodSync(d.events, 0o600);
    // A poll every 50 ms: sixty polls meet the same EACCES.
    const n = startNotifier(t, [...notifierArgs(d), '--poll', '0.05']);
    await sleep(3000);
    const lines = n.stderr().trimEnd().split('\n');
    t.deepEqual(lines, [`scanlogd-notify: ${d.events}: Permission denied`], n.stderr());
    fs.chmodSync(d.events, 0o640);
    await waitFor('the notifier to read', () => (n.stderr().includes('following') ? true : undefined), 5000);
    t.regex(n.stderr(), new RegExp(`${d.events} can be read again \\(after \\d+ more failures since \\d\\d:\\d\\d:\\d\\d\\)\\n`));
    const count = Number(/after (\d+) more failures/.exec(n.stderr())?.[1]);
    t.true(count >= 40, `${count} failed polls counted`);
    appendEvents(d.events, [scanLine('198.18.31.1', [21, 22, 23, 25, 53, 80, 111], Date.now())]);
    await explained(n, hook.waitDelivered(1));
  },
);

rootTest(
  'an endpoint that cannot be reached: its scheme, host and port are named, and nothing of its secret path, query or topic',
  async (t) => {
    const d = makeNotifyDir(t);
    const secret = 'Xq7secretTopicName91';
    // A port nothing listens on: connection refused.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    writeConfig(d.config, [
      `webhook = http://127.0.0.1:${port}/hooks/${secret}?key=${secret}Key`,
      `ntfy-url = http://127.0.0.1:${port}/${secret}`,
      'interval = 1',
      'wait = 0.2',
    ]);
    appendEvents(d.events, []);
    const n = startNotifier(t, notifierArgs(d));
    await waitFor('the notifier to follow the file', () => (n.stderr().includes('following') ? true : undefined));
    appendEvents(d.events, [scanLine('198.18.32.1', [21, 22, 23, 25, 53, 80, 111], Date.now())]);
    await waitFor('both failures', () => ((n.stderr().match(/delivery failed/g)?.length ?? 0) >= 2 ? true : undefined), 10000);
    t.regex(
      n.stderr(),
      new RegExp(
        `webhook \\(http://127\\.0\\.0\\.1:${port}\\): delivery failed \\(connection refused \\(ECONNREFUSED\\)\\); attempt 1, next in 2 s\n`,
      ),
    );
    t.regex(
      n.stderr(),
      new RegExp(`ntfy \\(http://127\\.0\\.0\\.1:${port}\\): delivery failed \\(connection refused \\(ECONNREFUSED\\)\\)`),
    );
    t.false(n.stderr().includes(secret), n.stderr());
    t.false(n.stderr().includes('hooks'), n.stderr());
  },
);
