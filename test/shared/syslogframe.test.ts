// The datagram glibc's syslog(3) would send, to the byte, for every program of the
// package; and whatever text it is given, nothing but printable ASCII goes out.

process.env.TZ = 'UTC';

import test from 'ava';
import { DAEMON_ALERT, DAEMON_ERR, DAEMON_INFO } from '../../src/shared/logging.js';
import { clockTime, printable, syslogDatagram, syslogTimestamp } from '../../src/shared/syslogframe.js';

test('syslogDatagram: priority 25, space-padded day, ident, no pid', (t) => {
  const d = syslogDatagram('msg', new Date(Date.UTC(2024, 10, 5, 3, 4, 5)), DAEMON_ALERT, 'scanlogd');
  t.true(Buffer.isBuffer(d));
  t.is(d.toString('latin1'), '<25>Nov  5 03:04:05 scanlogd: msg');
});

test('syslogDatagram: two-digit day', (t) => {
  t.is(
    syslogDatagram('x y', new Date(Date.UTC(2024, 10, 25, 16, 16, 55)), DAEMON_ALERT, 'scanlogd').toString('latin1'),
    '<25>Nov 25 16:16:55 scanlogd: x y',
  );
});

test("the priorities are syslog(3)'s LOG_DAEMON with LOG_ALERT, LOG_ERR and LOG_INFO", (t) => {
  t.deepEqual([DAEMON_ALERT, DAEMON_ERR, DAEMON_INFO], [25, 27, 30]);
  t.is(
    syslogDatagram('bad record', new Date(Date.UTC(2025, 0, 31, 23, 0, 0)), DAEMON_ERR, 'scanlogd').toString('latin1'),
    '<27>Jan 31 23:00:00 scanlogd: bad record',
  );
});

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

test("syslogTimestamp names every month as glibc's %h does in the C locale", (t) => {
  t.deepEqual(
    months.map((_, m) => syslogTimestamp(new Date(Date.UTC(2023, m, 9, 8, 7, 6)))),
    months.map((name) => `${name}  9 08:07:06`),
  );
});

test('clockTime is 24-hour HH:MM:SS', (t) => {
  t.is(clockTime(new Date(Date.UTC(2024, 0, 1, 0, 0, 0))), '00:00:00');
  t.is(clockTime(new Date(Date.UTC(2024, 0, 1, 13, 5, 9))), '13:05:09');
  t.is(clockTime(new Date(Date.UTC(2024, 0, 1, 23, 59, 59))), '23:59:59');
});

test('printable ASCII, every character of it, goes out unchanged', (t) => {
  const all = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
  t.is(printable(all), all);
  t.is(
    syslogDatagram(all, new Date(Date.UTC(2024, 10, 5, 3, 4, 5)), DAEMON_INFO, 'scanlogd-notify').toString('latin1'),
    `<30>Nov  5 03:04:05 scanlogd-notify: ${all}`,
  );
});

test('a forged second line cannot be framed: newlines, U+010A and other characters are escaped', (t) => {
  // U+010A encoded as Latin-1 would be the byte 0x0a, a newline.
  const forged = 'HTTP 400: x\n<25>Nov  5 03:04:05 scanlogd: 192.0.2.66 to 192.0.2.1 ports 22\u010a<25>\r\0\x7f\x1b[31m é → 😀';
  const datagram = syslogDatagram(forged, new Date(Date.UTC(2024, 10, 5, 3, 4, 5)), DAEMON_ERR, 'scanlogd-notify');
  t.deepEqual(
    [...datagram].filter((b) => b < 0x20 || b > 0x7e),
    [],
  );
  t.is(
    datagram.toString('latin1'),
    '<27>Nov  5 03:04:05 scanlogd-notify: HTTP 400: x\\x0a<25>Nov  5 03:04:05 scanlogd: 192.0.2.66 to 192.0.2.1 ports 22\\u{10a}<25>\\x0d\\x00\\x7f\\x1b[31m \\u{e9} \\u{2192} \\u{1f600}',
  );
});

test('random text of any code points always frames as printable ASCII', (t) => {
  let seed = 12345;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  for (let i = 0; i < 2000; i++) {
    const chars = Array.from({ length: next(40) }, () => {
      const kind = next(4);
      const code = kind === 0 ? next(0x80) : kind === 1 ? next(0x800) : kind === 2 ? 0xd800 + next(0x800) : next(0x110000);
      return String.fromCodePoint(code);
    });
    const datagram = syslogDatagram(chars.join(''), new Date(0), DAEMON_INFO, 'x');
    if ([...datagram].some((b) => b < 0x20 || b > 0x7e)) t.fail(JSON.stringify(chars.join('')));
  }
  t.pass();
});
