// The answers kept for a contact read after them: found by source, host, port and
// protocol within the window, used once, and held in memory that a flood cannot grow.

import test from 'ava';
import { parseAddress } from '../../src/shared/ipv4.js';
import { parseAddress6 } from '../../src/shared/ipv6.js';
import { IPV4, IPV6 } from '../../src/monitor/addresses.js';
import { ANSWER_BUCKETS, ANSWER_WAYS, ANSWER_WINDOW_MS, EarlyAnswers } from '../../src/monitor/earlyanswers.js';

const KEY = Uint32Array.of(0x2545f491, 0x9e3779b9, 0x6a09e667);
const SOURCE = parseAddress('198.18.61.2');
const HOST = parseAddress('198.19.5.9');
const T = 5_000_000;
const UDP = 4;

test('an answer judges the contact it answers, by source, host, port and protocol, and only once', (t) => {
  const early = new EarlyAnswers(IPV4, KEY);
  early.keep(SOURCE, HOST, 22, 0, false, T);
  early.keep(SOURCE, HOST, 53, UDP, false, T);
  early.keep(SOURCE, HOST, 80, 0, true, T);
  t.is(early.held, 3);
  t.is(early.take(parseAddress('198.18.61.3'), HOST, 22, 0, T), null, 'another source');
  t.is(early.take(SOURCE, parseAddress('198.19.5.10'), 22, 0, T), null, 'another host');
  t.is(early.take(SOURCE, HOST, 23, 0, T), null, 'another port');
  t.is(early.take(SOURCE, HOST, 22, UDP, T), null, 'another protocol');
  t.is(early.take(SOURCE, HOST, 22, 0, T + 3), 'refused');
  t.is(early.take(SOURCE, HOST, 22, 0, T + 4), null, 'used up');
  t.is(early.take(SOURCE, HOST, 53, UDP, T), 'refused');
  t.is(early.take(SOURCE, HOST, 80, 0, T), 'accepted');
  t.is(early.held, 0);
});

test('an answer further than the window from the contact judges nothing: it may answer an earlier probe of that port', (t) => {
  const early = new EarlyAnswers(IPV4, KEY);
  early.keep(SOURCE, HOST, 22, 0, false, T);
  t.is(early.take(SOURCE, HOST, 22, 0, T + ANSWER_WINDOW_MS + 1), null);
  t.is(early.held, 0, 'an answer seen too old is dropped');
  t.is(early.take(SOURCE, HOST, 22, 0, T), null, 'and never used later');
  early.keep(SOURCE, HOST, 22, 0, false, T);
  t.is(early.take(SOURCE, HOST, 22, 0, T - ANSWER_WINDOW_MS - 1), null, 'a contact stamped long before the answer');
  // On the wrapping clock that is an answer from about 49.7 days ago: dropped too.
  t.is(early.held, 0, 'an answer stamped too far ahead is dropped');
  early.keep(SOURCE, HOST, 22, 0, false, T);
  t.is(early.take(SOURCE, HOST, 22, 0, T + ANSWER_WINDOW_MS), 'refused', 'at the edge of the window');
  // Across the wrap of the 32-bit clock.
  early.keep(SOURCE, HOST, 22, 0, true, 0xffffff00);
  t.is(early.take(SOURCE, HOST, 22, 0, 0x100), 'accepted');
});

test('a flood of answers that match nothing keeps the same memory and at most every entry; the newest answer is still found', (t) => {
  const early = new EarlyAnswers(IPV4, KEY);
  const bytes = early.tableBytes;
  t.is(bytes, ANSWER_BUCKETS * ANSWER_WAYS * (4 + 4 + 2 + 4 + 1) + ANSWER_BUCKETS);
  for (let i = 0; i < 200_000; i++) early.keep(0x0a000000 + i, HOST, 22, 0, false, T + (i >> 10));
  t.is(early.tableBytes, bytes);
  t.is(early.held, ANSWER_BUCKETS * ANSWER_WAYS);
  // The oldest of each bucket went first: the last ones kept are all found.
  const now = T + (200_000 >> 10);
  for (let i = 200_000 - 64; i < 200_000; i++) t.is(early.take(0x0a000000 + i, HOST, 22, 0, now), 'refused');
  t.is(early.take(0x0a000000, HOST, 22, 0, now), null, 'the first was overwritten');
});

test('IPv6 answers use the same ring, over four-word addresses', (t) => {
  const early = new EarlyAnswers(IPV6, KEY);
  t.is(early.tableBytes, ANSWER_BUCKETS * ANSWER_WAYS * (16 + 16 + 2 + 4 + 1) + ANSWER_BUCKETS);
  const source = parseAddress6('fd00::2');
  const host = parseAddress6('fd00:1::9');
  early.keep(source, host, 22, 0, false, T);
  t.is(early.take(parseAddress6('fd00::3'), host, 22, 0, T), null);
  t.is(early.take(source, host, 22, 0, T + 1), 'refused');
  t.is(early.take(source, host, 22, 0, T + 1), null);
});

test('a new answer takes a free or used entry of its bucket before it overwrites one still waiting', (t) => {
  const early = new EarlyAnswers(IPV4, KEY);
  const bucketOf = (source: number): number =>
    (early as unknown as { bucketBase(s: number, h: number, p: number, u: number): number }).bucketBase(source, HOST, 22, 0);
  const waiting = 0x0a000000;
  const same: number[] = [];
  for (let s = waiting + 1; same.length < 8; s++) if (bucketOf(s) === bucketOf(waiting)) same.push(s);
  early.keep(waiting, HOST, 22, 0, false, T);
  // Three answers into the same bucket, used at once; three more, into the entries they
  // freed: with the oldest overwritten whatever its state, the fifth would have taken
  // the waiting one.
  for (const s of same.slice(0, 3)) early.keep(s, HOST, 22, 0, false, T);
  for (const s of same.slice(0, 3)) t.is(early.take(s, HOST, 22, 0, T), 'refused');
  for (const s of same.slice(3, 6)) early.keep(s, HOST, 22, 0, false, T + 10);
  t.is(early.take(waiting, HOST, 22, 0, T + 20), 'refused', 'the waiting answer was kept');
});
