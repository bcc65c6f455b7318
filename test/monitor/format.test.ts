// The log line of scanlogd's do_log(), to the byte.

process.env.TZ = 'UTC';

import test from 'ava';
import { CHANGING_DADDR, CHANGING_SPORT, CHANGING_TOS, CHANGING_TTL, type Scan } from '../../src/monitor/engine.js';
import { flagString, scanMessage } from '../../src/monitor/format.js';
import { Xorshift32 } from '../shared/xorshift.js';
import { parseAddress, formatAddress } from '../../src/shared/ipv4.js';
import { DAEMON_ALERT, SYSLOG_IDENT } from '../../src/shared/logging.js';
import { syslogDatagram } from '../../src/shared/syslogframe.js';

const ALL_CHANGING = CHANGING_DADDR | CHANGING_SPORT | CHANGING_TOS | CHANGING_TTL;
/** 2024-11-25 16:16:55 UTC. */
const START = Date.UTC(2024, 10, 25, 16, 16, 55) / 1000;

function scan(change: Partial<Scan> = {}): Scan {
  return {
    saddr: parseAddress('198.18.0.2'),
    daddr: parseAddress('198.18.0.1'),
    protocol: 'tcp',
    sport: 60508,
    ports: [22, 80, 23, 53, 21, 25],
    flagsOr: 0x02,
    flagsAnd: 0x02,
    tos: 0,
    ttl: 64,
    changing: 0,
    start: START,
    time: 0,
    slot: 0,
    ...change,
  };
}

const flagCases: Array<[number, number, string]> = [
  [0x02, 0x02, 'fSrpauxy'],
  [0x00, 0x00, 'fsrpauxy'],
  [0xff, 0xff, 'FSRPAUXY'],
  [0xff, 0x00, '????????'],
  [0x03, 0x02, '?Srpauxy'],
  [0x12, 0x02, 'fSrp?uxy'],
  [0x29, 0x29, 'FsrPaUxy'],
  [0xc2, 0x42, 'fSrpauX?'],
  [0x14, 0x04, 'fsRp?uxy'],
];

for (const [or, and, text] of flagCases) {
  test(`flagString(0x${or.toString(16)}, 0x${and.toString(16)}) = ${text}`, (t) => {
    t.is(flagString(or, and), text);
  });
}

// name, scan fields, limit, the exact message.
const messages: Array<[string, Partial<Scan>, number, string]> = [
  [
    'the reference line of design.md (TTL changing)',
    { changing: CHANGING_TTL },
    120,
    '198.18.0.2:60508 to 198.18.0.1 ports 22, 80, 23, 53, 21, 25, ..., fSrpauxy, TOS 00 @16:16:55',
  ],
  [
    'everything constant: source port, TOS and TTL',
    {},
    120,
    '198.18.0.2:60508 to 198.18.0.1 ports 22, 80, 23, 53, 21, 25, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55',
  ],
  [
    'source port changing: no ":port"',
    { changing: CHANGING_SPORT },
    120,
    '198.18.0.2 to 198.18.0.1 ports 22, 80, 23, 53, 21, 25, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55',
  ],
  [
    'destination changing: " and others,"',
    { changing: CHANGING_DADDR },
    120,
    '198.18.0.2:60508 to 198.18.0.1 and others, ports 22, 80, 23, 53, 21, 25, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55',
  ],
  [
    'TOS changing: TTL still shown',
    { changing: CHANGING_TOS, ttl: 255 },
    120,
    '198.18.0.2:60508 to 198.18.0.1 ports 22, 80, 23, 53, 21, 25, ..., fSrpauxy, TTL 255 @16:16:55',
  ],
  [
    'everything changing',
    { changing: ALL_CHANGING, flagsOr: 0x03 },
    120,
    '198.18.0.2 to 198.18.0.1 and others, ports 22, 80, 23, 53, 21, 25, ..., ?Srpauxy @16:16:55',
  ],
  [
    'TOS 0x10',
    { tos: 0x10, changing: CHANGING_TTL },
    120,
    '198.18.0.2:60508 to 198.18.0.1 ports 22, 80, 23, 53, 21, 25, ..., fSrpauxy, TOS 10 @16:16:55',
  ],
  [
    'TOS 0xb8',
    { tos: 0xb8, changing: CHANGING_TTL },
    120,
    '198.18.0.2:60508 to 198.18.0.1 ports 22, 80, 23, 53, 21, 25, ..., fSrpauxy, TOS b8 @16:16:55',
  ],
  [
    'TOS 0x0a',
    { tos: 0x0a, changing: CHANGING_TTL },
    120,
    '198.18.0.2:60508 to 198.18.0.1 ports 22, 80, 23, 53, 21, 25, ..., fSrpauxy, TOS 0a @16:16:55',
  ],
  [
    'TTL 0',
    { ttl: 0, changing: CHANGING_TOS },
    120,
    '198.18.0.2:60508 to 198.18.0.1 ports 22, 80, 23, 53, 21, 25, ..., fSrpauxy, TTL 0 @16:16:55',
  ],
  ['one port', { ports: [443] }, 120, '198.18.0.2:60508 to 198.18.0.1 ports 443, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55'],
  ['source port 0', { sport: 0 }, 120, '198.18.0.2:0 to 198.18.0.1 ports 22, 80, 23, 53, 21, 25, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55'],
  [
    'start time just before midnight',
    { start: Date.UTC(2024, 11, 31, 23, 59, 59) / 1000 },
    120,
    '198.18.0.2:60508 to 198.18.0.1 ports 22, 80, 23, 53, 21, 25, ..., fSrpauxy, TOS 00, TTL 64 @23:59:59',
  ],
];

for (const [name, change, limit, expected] of messages) {
  test(`scanMessage: ${name}`, (t) => {
    t.is(scanMessage(scan(change), limit), expected);
  });
}

const fiveDigitPorts = Array.from({ length: 20 }, (_, i) => 10000 + i);

// do_log's check: saddr + daddr-with-ports + tos + ttl + time + 19 <= 120, where the 19 is
// " to ", "..., ", the 8 flag letters and " @": exactly the length of the message.
const trimmed: Array<[string, Partial<Scan>, number, string]> = [
  [
    '20 five-digit ports keep 6 (118 characters; 7 would be 125)',
    { ports: fiveDigitPorts },
    118,
    '198.18.0.2:60508 to 198.18.0.1 ports 10000, 10001, 10002, 10003, 10004, 10005, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55',
  ],
  [
    'a line of exactly 120 characters is kept',
    { saddr: parseAddress('198.18.10.2'), changing: CHANGING_SPORT, ports: fiveDigitPorts },
    120,
    '198.18.10.2 to 198.18.0.1 ports 10000, 10001, 10002, 10003, 10004, 10005, 10006, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55',
  ],
  [
    'one more address digit costs a port (121 > 120)',
    { saddr: parseAddress('198.18.100.2'), changing: CHANGING_SPORT, ports: fiveDigitPorts },
    114,
    '198.18.100.2 to 198.18.0.1 ports 10000, 10001, 10002, 10003, 10004, 10005, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55',
  ],
  [
    'longest addresses and every field shown',
    {
      saddr: 0xffffffff,
      daddr: 0xffffffff,
      sport: 65535,
      changing: CHANGING_DADDR,
      ports: Array.from({ length: 20 }, (_, i) => 65535 - i),
      flagsOr: 0xff,
      flagsAnd: 0xff,
      tos: 0xff,
      ttl: 255,
      start: Date.UTC(2024, 0, 1, 23, 59, 59) / 1000,
    },
    120,
    '255.255.255.255:65535 to 255.255.255.255 and others, ports 65535, 65534, 65533, ..., FSRPAUXY, TOS ff, TTL 255 @23:59:59',
  ],
];

for (const [name, change, length, expected] of trimmed) {
  test(`scanMessage trims to 120: ${name}`, (t) => {
    const message = scanMessage(scan(change), 120);
    t.is(message, expected);
    t.is(message.length, length);
  });
}

test('scanMessage with limit 0 keeps all 20 ports', (t) => {
  const message = scanMessage(scan({ ports: fiveDigitPorts }), 0);
  t.is(
    message,
    '198.18.0.2:60508 to 198.18.0.1 ports 10000, 10001, 10002, 10003, 10004, 10005, 10006, 10007, 10008, 10009, ' +
      '10010, 10011, 10012, 10013, 10014, 10015, 10016, 10017, 10018, 10019, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55',
  );
  t.is(message.length, 216);
});

test('scanMessage with a limit shorter than the fixed parts keeps no port at all, as do_log does', (t) => {
  t.is(scanMessage(scan(), 10), '198.18.0.2:60508 to 198.18.0.1 ports ..., fSrpauxy, TOS 00, TTL 64 @16:16:55');
  t.is(scanMessage(scan(), 80), '198.18.0.2:60508 to 198.18.0.1 ports 22, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55');
});

/** do_log() transcribed from scanlogd.c, goto and all, for a differential check. */
function cDoLog(s: Scan, maxLength: number): string {
  let limit = s.ports.length;
  for (;;) {
    const sAddr = s.changing & CHANGING_SPORT ? formatAddress(s.saddr) : `${formatAddress(s.saddr)}:${s.sport}`;
    let sDaddr = `${formatAddress(s.daddr)}${s.changing & CHANGING_DADDR ? ' and others,' : ''} ports `;
    for (let index = 0; index < limit; index++) {
      if (maxLength > 0 && sDaddr.length >= maxLength) {
        limit = index;
        break;
      }
      sDaddr += `${s.ports[index]!}, `;
    }
    let sFlags = '';
    for (let index = 0; index < 8; index++) {
      const mask = 1 << index;
      const letter = 'fsrpauxy'[index]!;
      sFlags += (s.flagsOr & mask) === (s.flagsAnd & mask) ? (s.flagsOr & mask ? letter.toUpperCase() : letter) : '?';
    }
    const sTos = s.changing & CHANGING_TOS ? '' : `, TOS ${(s.tos >> 4).toString(16)}${(s.tos & 15).toString(16)}`;
    const sTtl = s.changing & CHANGING_TTL ? '' : `, TTL ${s.ttl}`;
    const d = new Date(s.start * 1000);
    const sTime = [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
    if (maxLength > 0 && sAddr.length + sDaddr.length + sTos.length + sTtl.length + sTime.length + (4 + 5 + 8 + 2) > maxLength) {
      if (--limit > 0) continue;
    }
    return `${sAddr} to ${sDaddr}..., ${sFlags}${sTos}${sTtl} @${sTime}`;
  }
}

test('fuzz: scanMessage equals a transcription of do_log for random scans and limits', (t) => {
  const rng = new Xorshift32(4242);
  const wrong: string[] = [];
  for (let i = 0; i < 5000 && wrong.length < 3; i++) {
    const s = scan({
      saddr: rng.next(),
      daddr: rng.next(),
      sport: rng.below(65536),
      ports: Array.from({ length: rng.between(0, 20) }, () => (rng.below(2) ? rng.below(65536) : rng.below(1024))),
      flagsOr: rng.below(256),
      flagsAnd: rng.below(256),
      tos: rng.below(256),
      ttl: rng.below(256),
      changing: rng.below(16),
      start: rng.below(2 ** 31),
    });
    const limit = rng.below(3) === 0 ? 0 : rng.between(1, 200);
    const ours = scanMessage(s, limit);
    const theirs = cDoLog(s, limit);
    if (ours !== theirs) wrong.push(`${limit}: ${ours} != ${theirs}`);
  }
  t.deepEqual(wrong, []);
});

test('syslogDatagram carries a whole scan line unchanged', (t) => {
  const line = scanMessage(scan({ changing: CHANGING_TTL }), 120);
  t.is(
    syslogDatagram(line, new Date(Date.UTC(2024, 10, 25, 16, 16, 55)), DAEMON_ALERT, SYSLOG_IDENT).toString('latin1'),
    '<25>Nov 25 16:16:55 scanlogd: 198.18.0.2:60508 to 198.18.0.1 ports 22, 80, 23, 53, 21, 25, ..., fSrpauxy, TOS 00 @16:16:55',
  );
});
