// The uint32 millisecond clock both processes stamp records with, and `elapsed`, the one
// place its wrap at 2^32 is handled.

import test from 'ava';
import { elapsed, monotonicMs, wallClockAt } from '../../src/shared/clock.js';

const WRAP = 2 ** 32;

test('elapsed: plain differences, both signs', (t) => {
  t.is(elapsed(5000, 2000), 3000);
  t.is(elapsed(2000, 5000), -3000);
  t.is(elapsed(7, 7), 0);
});

test('elapsed: across the wrap, as if the clock had not wrapped', (t) => {
  t.is(elapsed(10, WRAP - 20), 30);
  t.is(elapsed(WRAP - 20, 10), -30);
  t.is(elapsed(0, WRAP - 1), 1);
});

test('elapsed: correct up to 2^31 - 1 ms apart; at 2^31 the sign can no longer be told', (t) => {
  const most = 2 ** 31 - 1;
  t.is(elapsed(most, 0), most);
  t.is(elapsed((WRAP - 100 + most) % WRAP, WRAP - 100), most);
  t.is(elapsed(0, most), -most);
  t.is(elapsed(2 ** 31, 0), -(2 ** 31));
});

test('monotonicMs: a whole number below 2^32 that follows the process clock', (t) => {
  const before = monotonicMs();
  const start = process.hrtime.bigint();
  while (process.hrtime.bigint() - start < 20_000_000n) {
    // 20 ms of busy wait: a timer could fire early on a loaded machine.
  }
  const after = monotonicMs();
  for (const ms of [before, after]) {
    t.true(Number.isInteger(ms) && ms >= 0 && ms < WRAP, String(ms));
  }
  t.true(elapsed(after, before) >= 20 && elapsed(after, before) < 5000, `${before} -> ${after}`);
});

test('wallClockAt: a stamp before the reading is placed back by its age, across the wrap too; a later one at the reading', (t) => {
  const wallNow = 1_732_551_415_000;
  t.is(wallClockAt(1000, { mono: 3500, wall: wallNow }), wallNow - 2500);
  t.is(wallClockAt(0xffffff00, { mono: 0x100, wall: wallNow }), wallNow - 0x200);
  // The other process read the packet after the monitor read its clock.
  t.is(wallClockAt(3600, { mono: 3500, wall: wallNow }), wallNow);
});
