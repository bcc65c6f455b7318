// Structured events as syslog messages: the CEE cookie and the event's JSON, whole when
// it fits, cut at the end of its lists (and flagged) when it does not, never longer.

process.env.TZ = 'UTC';

import test from 'ava';
import { CEE_COOKIE, CEE_MAX_BYTES, ceeMessage } from '../../src/monitor/cee.js';
import { eventObject, type MonitorEvent, type ScanEndEvent, type ScanEvent } from '../../src/shared/events.js';
import { schemaErrors } from '../helpers/event-schema.js';
import { scanEvent as daemonScan } from '../helpers/events.js';

const T = Date.UTC(2026, 11, 2, 8, 15, 3, 156);

function scanEvent(ports: number[], destinations = ['198.18.0.1']): ScanEvent {
  return daemonScan('198.18.0.2', ports, T - 36, { time: T, last: T, destinations });
}

function scanEndEvent(ranges: string, destinations: string[]): ScanEndEvent {
  return {
    event: 'scan_end',
    time: T,
    family: 'ipv4',
    protocol: 'tcp',
    source: '198.18.0.2',
    reason: 'quiet',
    first: T - 600,
    last: T,
    duration_ms: 600,
    packets: 2000,
    distinct_ports: 1000,
    port_ranges: ranges,
    port_ranges_truncated: false,
    destinations,
    destinations_truncated: false,
  };
}

/** The JSON of a message, which must carry the cookie. */
function parse(message: string): Record<string, unknown> {
  if (!message.startsWith(CEE_COOKIE)) throw new Error(`no cookie: ${message}`);
  return JSON.parse(message.slice(CEE_COOKIE.length)) as Record<string, unknown>;
}

const small: Array<[string, MonitorEvent]> = [
  ['scan', scanEvent([23, 25, 21, 80, 22, 53, 111])],
  ['scan_end', scanEndEvent('1-100', ['198.18.0.3', '198.18.0.1'])],
  ['suppressed start', { event: 'suppressed', time: T, state: 'start' }],
  ['suppressed end', { event: 'suppressed', time: T, state: 'end', dropped: 4 }],
  [
    'counters',
    {
      event: 'counters',
      time: T,
      packets_seen: 4021,
      packets_rejected: 0,
      records_received: 4021,
      records_dropped_by_capture: 0,
      scans_detected: 9,
      scans_logged: 5,
      scans_suppressed: 4,
      table_reuses: 0,
      bucket_evictions: 0,
    },
  ],
];

for (const [name, event] of small) {
  test(`an event that fits is the cookie and its whole JSON, valid against the schema: ${name}`, (t) => {
    const message = ceeMessage(event);
    t.is(message, CEE_COOKIE + JSON.stringify(eventObject(event)));
    t.deepEqual(schemaErrors(parse(message)), []);
  });
}

test('the scan event of the README fits as it is', (t) => {
  const message = ceeMessage(scanEvent([23, 25, 21, 80, 22, 53, 111], ['198.18.0.3', '198.18.0.1']));
  t.is(
    message,
    '@cee: {"event":"scan","time":"2026-12-02T08:15:03.156+00:00","family":"ipv4","protocol":"tcp","source":"198.18.0.2","source_port":40000,"destinations":["198.18.0.3","198.18.0.1"],"destinations_truncated":false,"ports":[23,25,21,80,22,53,111],"flags":"fSrpauxy","flags_or":2,"flags_and":2,"tos":0,"ttl":null,"packets":7,"first":"2026-12-02T08:15:03.120+00:00","last":"2026-12-02T08:15:03.156+00:00","syslog":"logged"}',
  );
});

test('a scan with thousands of ports keeps the first ones that fit and says it was cut', (t) => {
  const ports = Array.from({ length: 5000 }, (_, i) => 1 + i);
  const message = ceeMessage(scanEvent(ports));
  t.true(message.length <= CEE_MAX_BYTES, String(message.length));
  const out = parse(message);
  const kept = out['ports'] as number[];
  t.deepEqual(kept, ports.slice(0, kept.length), 'the first ports, in order');
  t.true(kept.length > 300, `only ${kept.length} ports kept`);
  t.is(out['ports_truncated'], true);
  // As many as fit: one more port would not.
  const longer = { ...out, ports: ports.slice(0, kept.length + 1) };
  t.true((CEE_COOKIE + JSON.stringify(longer)).length > CEE_MAX_BYTES);
  t.deepEqual(out['destinations'], ['198.18.0.1'], 'the other lists stay whole');
  t.deepEqual(schemaErrors(out), []);
});

test('a scan_end with long port ranges is cut at a whole range, then destinations if need be', (t) => {
  const ranges = Array.from({ length: 64 }, (_, i) => `${1000 * i + 1}-${1000 * i + 500}`).join(',');
  const destinations = Array.from({ length: 16 }, (_, i) => `198.18.${i}.255`);
  for (const budget of [CEE_MAX_BYTES, 900, 650]) {
    const message = ceeMessage(scanEndEvent(ranges, destinations), budget);
    t.true(message.length <= budget, `${budget}: ${message.length}`);
    const out = parse(message);
    t.true(ranges.startsWith(`${out['port_ranges'] as string},`) || out['port_ranges'] === ranges, `${budget}: a prefix of whole ranges`);
    t.is(out['port_ranges_truncated'], out['port_ranges'] !== ranges);
    const kept = out['destinations'] as string[];
    t.deepEqual(kept, destinations.slice(0, kept.length));
    t.is(out['destinations_truncated'], kept.length < destinations.length);
    t.deepEqual(schemaErrors(out), [], String(budget));
  }
  t.is(ceeMessage(scanEndEvent(ranges, destinations)).includes('"port_ranges_truncated":false'), true, 'fits whole at the default budget');
});

test('at least two ports and one destination stay, even when the budget cannot be met', (t) => {
  const out = parse(ceeMessage(scanEvent([1, 2, 3, 4], ['198.18.0.1', '198.18.0.2']), 100));
  t.deepEqual(out['ports'], [1, 2]);
  t.deepEqual(out['destinations'], ['198.18.0.1']);
  t.is(out['ports_truncated'], true);
  t.is(out['destinations_truncated'], true);
});
