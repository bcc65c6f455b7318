// The notifier's reports: one printable line on stderr and in syslog whatever the text,
// and a failure that repeats said once, counted, and said again only when it changes,
// an hour on, or when it ends.

import test from 'ava';
import { REPEAT_EVERY_MS, Repeats, sayer } from '../../src/notify/report.js';
import { DAEMON_ERR, DAEMON_INFO } from '../../src/shared/logging.js';

function recorder(): { said: Array<[string, number | undefined]>; say: (text: string, priority?: number) => void } {
  const said: Array<[string, number | undefined]> = [];
  return { said, say: (text, priority) => said.push([text, priority]) };
}

test('a failure is said once; repeats are counted and said with the next line: a change, an hour on, or the recovery', (t) => {
  const { said, say } = recorder();
  let now = Date.UTC(2026, 11, 2, 9, 0, 0);
  const r = new Repeats(say, () => now);
  r.failed('events file', 'EACCES', 'events.json: Permission denied');
  for (let i = 0; i < 7200; i++) {
    now += 500;
    if (now - Date.UTC(2026, 11, 2, 9, 0, 0) < REPEAT_EVERY_MS) r.failed('events file', 'EACCES', 'events.json: Permission denied');
  }
  t.deepEqual(said, [['events.json: Permission denied', DAEMON_ERR]]);
  r.failed('events file', 'EACCES', 'events.json: Permission denied');
  t.is(said.length, 2);
  t.regex(said[1]?.[0] ?? '', /^events\.json: Permission denied \(7199 more since \d\d:\d\d:\d\d\)$/);
  now += 1000;
  r.failed('events file', 'EIO', 'events.json: EIO');
  t.deepEqual(said[2], ['events.json: EIO', DAEMON_ERR]);
  r.failed('events file', 'EIO', 'events.json: EIO');
  t.true(r.failing('events file'));
  r.recovered('events file', 'events.json can be read again');
  t.regex(said[3]?.[0] ?? '', /^events\.json can be read again \(after 1 more failures since \d\d:\d\d:\d\d\)$/);
  t.is(said[3]?.[1], DAEMON_INFO);
  t.false(r.failing('events file'));
  r.recovered('events file', 'said only after a failure');
  t.is(said.length, 4);
});

test('failures of different things are counted apart', (t) => {
  const { said, say } = recorder();
  const r = new Repeats(say, () => 0);
  r.failed('webhook', 'HTTP 500', 'webhook: HTTP 500');
  r.failed('ntfy', 'HTTP 500', 'ntfy: HTTP 500');
  r.failed('webhook', 'HTTP 500', 'webhook: HTTP 500');
  t.deepEqual(
    said.map(([text]) => text),
    ['webhook: HTTP 500', 'ntfy: HTTP 500'],
  );
});

test('every report is one printable line on stderr and in the syslog datagram', (t) => {
  const written: string[] = [];
  const datagrams: Array<[string, Buffer]> = [];
  const say = sayer('/dev/log-test', (path, d) => datagrams.push([path, d]), { write: (s: string) => written.push(s) });
  say('HTTP 400: bad\n<25>Nov  5 03:04:05 scanlogd: forged\u010a', DAEMON_ERR);
  t.deepEqual(written, ['scanlogd-notify: HTTP 400: bad\\x0a<25>Nov  5 03:04:05 scanlogd: forged\\u{10a}\n']);
  t.is(datagrams[0]?.[0], '/dev/log-test');
  t.regex(
    datagrams[0]?.[1].toString('latin1') ?? '',
    /^<27>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d scanlogd-notify: HTTP 400: bad\\x0a<25>Nov {2}5 03:04:05 scanlogd: forged\\u\{10a\}$/,
  );
});

test('a syslog that is away costs nothing but the syslog line', (t) => {
  const written: string[] = [];
  const say = sayer(
    '/nonexistent/log',
    () => {
      throw new Error('ENOENT');
    },
    { write: (s: string) => written.push(s) },
  );
  say('still said');
  t.deepEqual(written, ['scanlogd-notify: still said\n']);
});
