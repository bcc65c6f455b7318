// Each channel against a local HTTP server: what a status means (2xx delivered, 429
// and 5xx worth another attempt, any other refusal permanent), Retry-After in both its
// forms, the User-Agent, Pushover's length limits, and error text that shows no more of
// a URL than its scheme, host and port, whatever fetch or the endpoint said. Mail goes
// to a stand-in sendmail that keeps what it was given.

import test from 'ava';
import fs = require('node:fs');
import http = require('node:http');
import os = require('node:os');
import path = require('node:path');
import {
  DeliveryError,
  MAX_RETRY_AFTER_MS,
  PUSHOVER_MAX_MESSAGE,
  USER_AGENT,
  clipText,
  retryAfter,
  safeText,
  senderFor,
} from '../../src/notify/channels.js';
import type { Message } from '../../src/notify/digest.js';
import { VERSION } from '../../src/shared/version.js';

const MESSAGE: Message = { title: 'web1: port scan from 198.51.100.7', text: 'a\nb', events: 1, sources: 1 };

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A server answering every request with `status`, `body` and `headers`; the requests it saw. */
async function server(
  t: { teardown(fn: () => Promise<void>): void },
  status: number,
  body = '',
  headers: Record<string, string> = {},
): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const s = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body: b });
      res.writeHead(status, headers);
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => s.close(() => resolve())));
  return { base: `http://127.0.0.1:${(s.address() as { port: number }).port}`, seen };
}

async function failure(p: Promise<void>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DeliveryError) return err;
    throw err;
  }
  throw new Error('delivered');
}

test('the User-Agent names the notifier and its version', async (t) => {
  const { base, seen } = await server(t, 200);
  await senderFor({ kind: 'webhook', url: `${base}/hook` })(MESSAGE, 2000);
  t.is(USER_AGENT, `scanlogd-notify/${VERSION}`);
  t.is(seen[0]?.headers['user-agent'], USER_AGENT);
  t.regex(VERSION, /^\d+\.\d+\.\d+$/);
});

const statuses: Array<[number, boolean]> = [
  [400, true],
  [401, true],
  [403, true],
  [404, true],
  [413, true],
  [429, false],
  [500, false],
  [502, false],
  [503, false],
];

for (const [status, permanent] of statuses) {
  test(`HTTP ${status} is ${permanent ? 'a refusal, not to be sent again' : 'worth another attempt'}`, async (t) => {
    const { base } = await server(t, status, 'no');
    const err = await failure(senderFor({ kind: 'webhook', url: `${base}/hook` })(MESSAGE, 2000));
    t.is(err.permanent, permanent);
    t.regex(err.summary, new RegExp(`^HTTP ${status}`));
  });
}

test('a redirect is a refusal: the URL to set is the one it points to', async (t) => {
  const { base } = await server(t, 301, '', { location: 'http://127.0.0.1:1/elsewhere' });
  const err = await failure(senderFor({ kind: 'webhook', url: `${base}/hook` })(MESSAGE, 2000));
  t.true(err.permanent);
  t.is(err.message, 'the service answered with a redirect; set the URL it points to');
});

test('Retry-After: seconds, an HTTP date, bounded; anything else is no answer', (t) => {
  const now = Date.UTC(2026, 11, 2, 9, 0, 0);
  t.is(retryAfter('120', now), 120000);
  t.is(retryAfter(' 0 ', now), 0);
  t.is(retryAfter('Wed, 02 Dec 2026 09:00:30 GMT', now), 30000);
  t.is(retryAfter('Wed, 02 Dec 2026 08:59:00 GMT', now), 0, 'a date past is now');
  t.is(retryAfter('86400', now), MAX_RETRY_AFTER_MS);
  t.is(retryAfter('99999999999', now), null);
  t.is(retryAfter('-5', now), null);
  t.is(retryAfter('1.5', now), null);
  t.is(retryAfter('tomorrow', now), null);
  t.is(retryAfter(null, now), null);
});

test('a 429 carries the wait it asked for', async (t) => {
  const { base } = await server(t, 429, '', { 'retry-after': '7' });
  const err = await failure(senderFor({ kind: 'webhook', url: `${base}/hook` })(MESSAGE, 2000));
  t.false(err.permanent);
  t.is(err.retryAfterMs, 7000);
  t.is(err.summary, 'HTTP 429 (too many requests; asked to wait 7 s)');
});

test("an endpoint's answer that repeats the URL is shown without its secret parts, on one printable line", async (t) => {
  const topic = 'my-secret-topic-4711';
  const { base } = await server(t, 404, `no such topic: /${topic}\n\u001b[31mhttps://ntfy.example/${topic}?auth=tokenvalue123`);
  const err = await failure(
    senderFor({ kind: 'ntfy', url: `${base}/${topic}?auth=tokenvalue123`, token: null, user: null, password: null, priority: null })(
      MESSAGE,
      2000,
    ),
  );
  t.false(err.message.includes(topic), err.message);
  t.false(err.message.includes('tokenvalue123'), err.message);
  t.is(err.message, 'HTTP 404: no such topic: ... \\x1b[31mhttps://ntfy.example...');
  t.true(/^[\x20-\x7e]*$/.test(err.message));
});

test("fetch's own error text for a URL with credentials shows none of them", async (t) => {
  // The configuration refuses such URLs; a sender given one still names nothing of it.
  const err = await failure(senderFor({ kind: 'webhook', url: 'http://alice:hunter2secret@127.0.0.1:1/private-hook-path' })(MESSAGE, 2000));
  t.false(/hunter2secret|alice|private-hook-path/.test(err.message), err.message);
  t.is(err.message, 'request failed: Request cannot be constructed from a URL that includes credentials: ...');
});

test('safeText cuts what it is given to one short printable line', (t) => {
  t.is(safeText(`a\n\tb  ${'x'.repeat(300)}`, null).length, 203);
  t.is(safeText('é\u0000', null), '\\u{e9}\\x00');
});

test("Pushover's limits: a title of 250 characters and a message of 1024, cut at a line's end", async (t) => {
  const { base, seen } = await server(t, 200, '{"status":1}');
  const lines = Array.from({ length: 40 }, (_, i) => `198.51.100.${i} → 192.0.2.1: 7 ports (1-7), 7 packets, at 09:00:00`);
  await senderFor({ kind: 'pushover', url: `${base}/1/messages.json`, token: 'a'.repeat(30), user: 'b'.repeat(30), priority: null })(
    { title: 'x'.repeat(300), text: lines.join('\n'), events: 40, sources: 40 },
    2000,
  );
  const form = new URLSearchParams(seen[0]?.body ?? '');
  t.is([...(form.get('title') ?? '')].length, 250);
  const message = form.get('message') ?? '';
  t.true([...message].length <= PUSHOVER_MAX_MESSAGE);
  t.true(message.endsWith(':00\n…'), message.slice(-20));
  t.is(clipText('short', 10), 'short');
});

test('Pushover: a 200 without "status":1 is worth another attempt', async (t) => {
  const { base } = await server(t, 200, '<html>captive portal</html>');
  const err = await failure(
    senderFor({ kind: 'pushover', url: `${base}/1/messages.json`, token: 'a'.repeat(30), user: 'b'.repeat(30), priority: null })(
      MESSAGE,
      2000,
    ),
  );
  t.false(err.permanent);
  t.is(err.message, 'Pushover did not accept the message: <html>captive portal</html>');
});

test('mail: a title with CR, LF and non-ASCII text becomes one encoded Subject line; no header is added', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notify-mail-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const kept = path.join(dir, 'message');
  const sendmail = path.join(dir, 'sendmail');
  fs.writeFileSync(sendmail, `#!/bin/sh\ncat > '${kept}'\n`, { mode: 0o755 });
  const title = 'scan from h\u00f4te\r\nBcc: someone@example.org\nX-Injected: 1';
  const send = senderFor({ kind: 'mail', to: 'admin@example.org', from: null, sendmail });
  await send({ title, text: 'body', events: 1, sources: 1 }, 5000);
  const [head = '', body] = fs.readFileSync(kept, 'utf8').split('\n\n');
  const lines = head.split('\n');
  const subjects = lines.filter((l) => l.startsWith('Subject:'));
  t.is(subjects.length, 1, head);
  const word = /^Subject: =\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=$/.exec(subjects[0] ?? '');
  t.not(word, null, subjects[0]);
  t.is(Buffer.from(word?.[1] ?? '', 'base64').toString('utf8'), title);
  t.deepEqual(
    lines.map((l) => l.split(':')[0]),
    ['To', 'Subject', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding', 'Auto-Submitted', 'X-Mailer'],
  );
  t.regex(head.replace(/\n/g, ''), /^[ -~]*$/, 'the header is printable ASCII');
  t.is(body?.trim(), 'body');
});
