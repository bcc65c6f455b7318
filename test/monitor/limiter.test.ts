// The log flood limit of scanlogd's safe_log(): five lines, one announcement, silence
// until a gap of more than 20 s after the last line written.

import test from 'ava';
import { FLOOD_MESSAGE, FloodLimiter, type LimiterVerdict } from '../../src/monitor/limiter.js';

const limiter = (): FloodLimiter => new FloodLimiter(5, 20000);
const decideAll = (l: FloodLimiter, times: number[]): LimiterVerdict[] => times.map((time) => l.decide(time >>> 0));

const LOG5: LimiterVerdict[] = ['log', 'log', 'log', 'log', 'log'];

test('the flood line is scanlogd\'s', (t) => {
  t.is(FLOOD_MESSAGE, 'More possible port scans follow');
});

test('five scans are logged, the sixth announces the flood, the rest are suppressed', (t) => {
  const l = limiter();
  const times = Array.from({ length: 10 }, (_, i) => 100000 + i * 1000);
  t.deepEqual(decideAll(l, times), [...LOG5, 'announce-flood', 'suppress', 'suppress', 'suppress', 'suppress']);
  t.is(l.suppressed, 4);
});

test('each gap is measured from the previous counted scan, not the first: 19 s apart still floods', (t) => {
  const l = limiter();
  const times = Array.from({ length: 7 }, (_, i) => 100000 + i * 19000);
  t.deepEqual(decideAll(l, times), [...LOG5, 'announce-flood', 'suppress']);
});

test('a gap of exactly 20 s keeps counting; 20.001 s resets', (t) => {
  const l = limiter();
  t.deepEqual(decideAll(l, [100000, 120000, 140000, 160000, 180000, 200000]), [...LOG5, 'announce-flood']);
  t.is(l.decide(220000), 'suppress');
  t.is(l.decide(220001), 'log');
});

test('a gap of more than 20 s before the sixth scan starts a new count', (t) => {
  const l = limiter();
  const times = [100000, 101000, 102000, 103000, 104000, 124001, 125000, 126000, 127000, 128000, 129000];
  t.deepEqual(decideAll(l, times), [...LOG5, ...LOG5, 'announce-flood']);
});

test('suppressed scans do not move the window: it runs from the announcement', (t) => {
  const l = limiter();
  decideAll(l, [100000, 101000, 102000, 103000, 104000]);
  t.is(l.decide(105000), 'announce-flood');
  // A steady stream, each 4-19 s after the one before, all within 20 s of 105000.
  t.deepEqual(decideAll(l, [110000, 120000, 124000, 125000]), ['suppress', 'suppress', 'suppress', 'suppress']);
  t.is(l.suppressed, 4);
  // 20.001 s after the announcement, 1 ms after the last suppressed scan: logging resumes.
  t.is(l.decide(125001), 'log');
  t.deepEqual(decideAll(l, [125002, 125003, 125004, 125005, 125006]), ['log', 'log', 'log', 'log', 'announce-flood']);
  t.is(l.suppressed, 0);
});

test('the first scan is logged whatever the clock reads', (t) => {
  for (const time of [0, 1, 20000, 20001, 0x7fffffff, 0x80000000, 0xffffffff]) {
    t.is(new FloodLimiter(5, 20000).decide(time), 'log', String(time));
  }
});

test('clock wrap: scans across 2^32 ms are one burst', (t) => {
  const l = limiter();
  const times = [0xffffc000, 0xffffe000, 0xfffff000, 0x00000000, 0x00001000, 0x00002000, 0x00003000];
  t.deepEqual(decideAll(l, times), [...LOG5, 'announce-flood', 'suppress']);
  // 20001 ms after the announcement at 0x2000, past the wrap.
  t.is(l.decide(0x2000 + 20001), 'log');
});

for (const [gap, verdict] of [[20000, 'announce-flood'], [20001, 'log']] as const) {
  test(`clock wrap: a gap of ${gap} ms across 2^32 gives ${verdict}`, (t) => {
    const l = limiter();
    t.deepEqual(decideAll(l, [0xffffa000, 0xffffb000, 0xffffc000, 0xffffd000, 0xffffe000]), LOG5);
    const after = (0xffffe000 + gap) >>> 0;
    t.true(after < 0xffffe000);
    t.is(l.decide(after), verdict);
  });
}

test('a scan time before the last counted one (now < last) resets the count, as in C', (t) => {
  const l = limiter();
  t.deepEqual(decideAll(l, [100000, 101000, 102000, 103000, 104000, 105000, 106000]), [...LOG5, 'announce-flood', 'suppress']);
  t.is(l.decide(104999), 'log');
});

test('custom count and window: --log-count 2 --log-delay 1', (t) => {
  const l = new FloodLimiter(2, 1000);
  t.deepEqual(decideAll(l, [5000, 5500, 6000, 6500, 7000, 7001]), ['log', 'log', 'announce-flood', 'suppress', 'suppress', 'log']);
});
