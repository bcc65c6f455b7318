// The log flood limit of scanlogd's safe_log(): five lines, one announcement, silence
// until a gap of more than 20 s after the last line written; and the flood events it
// reports itself.

import test from 'ava';
import type { SuppressedEvent, SyslogVerdict } from '../../src/shared/events.js';
import { FLOOD_MESSAGE, FloodLimiter, ReportLimiter, type FloodDecision } from '../../src/monitor/limiter.js';

/** The wall clock of these tests: the monotonic time plus a fixed offset. */
const WALL_OFFSET = 1_700_000_000_000;
const limiter = (): FloodLimiter => new FloodLimiter(5, 20000);
const decide = (l: FloodLimiter, time: number): SyslogVerdict => l.decide(time >>> 0, time + WALL_OFFSET).verdict;
const decideAll = (l: FloodLimiter, times: number[]): SyslogVerdict[] => times.map((time) => decide(l, time));

const LOG5: SyslogVerdict[] = ['logged', 'logged', 'logged', 'logged', 'logged'];

/** A limiter whose flood events, from its decisions and its sweeps, are collected in order. */
class Collecting extends FloodLimiter {
  readonly events: SuppressedEvent[] = [];

  override decide(now: number, wallMs: number): FloodDecision {
    const decision = super.decide(now, wallMs);
    if (decision.flood !== null) this.events.push(decision.flood);
    return decision;
  }

  override sweep(now: number, wallMs: number): SuppressedEvent | null {
    const flood = super.sweep(now, wallMs);
    if (flood !== null) this.events.push(flood);
    return flood;
  }
}

function withEvents(): { l: FloodLimiter; events: SuppressedEvent[] } {
  const l = new Collecting(5, 20000);
  return { l, events: l.events };
}

test("the flood line is scanlogd's", (t) => {
  t.is(FLOOD_MESSAGE, 'More possible port scans follow');
});

test('five scans are logged, the sixth announces the flood, the rest are suppressed', (t) => {
  const { l, events } = withEvents();
  const times = Array.from({ length: 10 }, (_, i) => 100000 + i * 1000);
  t.deepEqual(decideAll(l, times), [...LOG5, 'flood-notice', 'suppressed', 'suppressed', 'suppressed', 'suppressed']);
  t.deepEqual(events, [{ event: 'suppressed', time: 105000 + WALL_OFFSET, state: 'start' }]);
  // The next scan after a quiet gap ends the flood: the notice's scan and four more were held back.
  t.is(decide(l, 129001), 'logged');
  t.deepEqual(events[1], { event: 'suppressed', time: 129001 + WALL_OFFSET, state: 'end', dropped: 5 });
});

test('each gap is measured from the previous counted scan, not the first: 19 s apart still floods', (t) => {
  const l = limiter();
  const times = Array.from({ length: 7 }, (_, i) => 100000 + i * 19000);
  t.deepEqual(decideAll(l, times), [...LOG5, 'flood-notice', 'suppressed']);
});

test('a gap of exactly 20 s keeps counting; 20.001 s resets', (t) => {
  const l = limiter();
  t.deepEqual(decideAll(l, [100000, 120000, 140000, 160000, 180000, 200000]), [...LOG5, 'flood-notice']);
  t.is(decide(l, 220000), 'suppressed');
  t.is(decide(l, 220001), 'logged');
});

test('a gap of more than 20 s before the sixth scan starts a new count', (t) => {
  const l = limiter();
  const times = [100000, 101000, 102000, 103000, 104000, 124001, 125000, 126000, 127000, 128000, 129000];
  t.deepEqual(decideAll(l, times), [...LOG5, ...LOG5, 'flood-notice']);
});

test('suppressed scans do not move the window: it runs from the announcement', (t) => {
  const { l, events } = withEvents();
  decideAll(l, [100000, 101000, 102000, 103000, 104000]);
  t.is(decide(l, 105000), 'flood-notice');
  // A steady stream, each 4-19 s after the one before, all within 20 s of 105000.
  t.deepEqual(decideAll(l, [110000, 120000, 124000, 125000]), ['suppressed', 'suppressed', 'suppressed', 'suppressed']);
  // 20.001 s after the announcement, 1 ms after the last suppressed scan: logging resumes.
  t.is(decide(l, 125001), 'logged');
  t.deepEqual(decideAll(l, [125002, 125003, 125004, 125005, 125006]), ['logged', 'logged', 'logged', 'logged', 'flood-notice']);
  // The second flood counts from one again.
  t.deepEqual(
    events.map((e) => `${e.state} ${e.time - WALL_OFFSET} ${e.dropped ?? ''}`),
    ['start 105000 ', 'end 125001 5', 'start 125006 '],
  );
});

test('sweep ends a flood once it is quiet past the window, and only then, once', (t) => {
  const { l, events } = withEvents();
  decideAll(l, [100000, 101000, 102000, 103000, 104000, 105000, 106000]);
  t.is(events.length, 1);
  // The window runs from the announcement at 105000.
  l.sweep(125000, 125000 + WALL_OFFSET);
  t.is(events.length, 1);
  l.sweep(125001, 125001 + WALL_OFFSET);
  l.sweep(125500, 125500 + WALL_OFFSET);
  t.deepEqual(events.slice(1), [{ event: 'suppressed', time: 125001 + WALL_OFFSET, state: 'end', dropped: 2 }]);
  // The scan after the swept flood is logged and ends nothing more.
  t.is(decide(l, 126000), 'logged');
  t.is(events.length, 2);
});

test('a listener changes no decision', (t) => {
  const times = [...Array.from({ length: 12 }, (_, i) => 100000 + i * 3000), 160000, 160001];
  const { l, events } = withEvents();
  t.deepEqual(decideAll(limiter(), times), decideAll(l, times));
  t.deepEqual(
    events.map((e) => e.state),
    ['start', 'end'],
  );
});

test('the first scan is logged whatever the clock reads', (t) => {
  for (const time of [0, 1, 20000, 20001, 0x7fffffff, 0x80000000, 0xffffffff]) {
    t.is(decide(new FloodLimiter(5, 20000), time), 'logged', String(time));
  }
});

test('clock wrap: scans across 2^32 ms are one burst', (t) => {
  const l = limiter();
  const times = [0xffffc000, 0xffffe000, 0xfffff000, 0x00000000, 0x00001000, 0x00002000, 0x00003000];
  t.deepEqual(decideAll(l, times), [...LOG5, 'flood-notice', 'suppressed']);
  // 20001 ms after the announcement at 0x2000, past the wrap.
  t.is(decide(l, 0x2000 + 20001), 'logged');
});

for (const [gap, verdict] of [
  [20000, 'flood-notice'],
  [20001, 'logged'],
] as const) {
  test(`clock wrap: a gap of ${gap} ms across 2^32 gives ${verdict}`, (t) => {
    const l = limiter();
    t.deepEqual(decideAll(l, [0xffffa000, 0xffffb000, 0xffffc000, 0xffffd000, 0xffffe000]), LOG5);
    const after = (0xffffe000 + gap) >>> 0;
    t.true(after < 0xffffe000);
    t.is(decide(l, after), verdict);
  });
}

test('a scan time before the last counted one (now < last) resets the count, as in C', (t) => {
  const l = limiter();
  t.deepEqual(decideAll(l, [100000, 101000, 102000, 103000, 104000, 105000, 106000]), [...LOG5, 'flood-notice', 'suppressed']);
  t.is(decide(l, 104999), 'logged');
});

test('custom count and window: --log-count 2 --log-delay 1', (t) => {
  const l = new FloodLimiter(2, 1000);
  t.deepEqual(decideAll(l, [5000, 5500, 6000, 6500, 7000, 7001]), [
    'logged',
    'logged',
    'flood-notice',
    'suppressed',
    'suppressed',
    'logged',
  ]);
});

test('report limit: five reports in a window make lines, the rest are merged and said when the window closes', (t) => {
  const l = new ReportLimiter(5, 20000);
  const admitted = Array.from({ length: 200 }, (_, i) => l.admit(1000 + i, 10));
  t.deepEqual(admitted.slice(0, 6), [true, true, true, true, true, false]);
  t.is(admitted.filter(Boolean).length, 5);
  t.is(l.close(20999), null, 'the window is still open');
  t.deepEqual(l.close(21000), { reports: 195, lostPackets: 1950 });
  t.is(l.close(21001), null, 'said once');
  // The next report opens a new window.
  t.true(l.admit(21002, 1));
});

test('report limit: a window with nothing merged closes silently; a steady stream gives five lines and one merged line per window', (t) => {
  const l = new ReportLimiter(5, 20000);
  t.true(l.admit(0, 0));
  t.is(l.close(20000), null);
  const lines: string[] = [];
  // One report every 10 ms for a minute, the window checked before each as the record loop does.
  for (let now = 100000; now < 160000; now += 10) {
    const merged = l.close(now);
    if (merged !== null) lines.push(`merged ${merged.reports}`);
    if (l.admit(now, 0)) lines.push('line');
  }
  t.deepEqual(lines, [
    ...Array<string>(5).fill('line'),
    'merged 1995',
    ...Array<string>(5).fill('line'),
    'merged 1995',
    ...Array<string>(5).fill('line'),
  ]);
});

test('report limit: the window survives the monotonic clock wrapping at 2^32', (t) => {
  const l = new ReportLimiter(1, 20000);
  const start = 0xffffffff - 5000;
  t.true(l.admit(start, 0));
  t.false(l.admit(0xffffffff, 3));
  t.is(l.close(1000), null, '6 s in, across the wrap');
  t.deepEqual(l.close(15000), { reports: 1, lostPackets: 3 });
});
