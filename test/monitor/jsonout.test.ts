// The JSON line writer: lines reach the file whole and in order; a full disk or a
// full queue drops and counts lines, reports once, and recovers.

import test from 'ava';
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { JsonOutput } from '../../src/monitor/jsonout.js';
import { sleep, waitFor } from '../../harness/netns.js';

function reporter(): { notes: string[]; report: { failing(why: string): void; recovered(n: number): void } } {
  const notes: string[] = [];
  return { notes, report: { failing: (why) => notes.push(`failing ${why}`), recovered: (n) => notes.push(`recovered ${n}`) } };
}

test('lines are appended whole and in order', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jsonout-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'events.json');
  const fd = fs.openSync(file, 'a');
  t.teardown(() => fs.closeSync(fd));
  const { notes, report } = reporter();
  const out = new JsonOutput(fd, report);
  for (let i = 0; i < 5000; i++) out.write(`{"n":${i}}\n`);
  await waitFor('the writes', () => (out.written === 5000 ? true : undefined));
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  t.deepEqual(
    lines.map((l) => (JSON.parse(l) as { n: number }).n),
    Array.from({ length: 5000 }, (_, i) => i),
  );
  t.is(out.dropped, 0);
  t.deepEqual(notes, []);
});

test('a full disk (/dev/full): every line dropped and counted, one report', async (t) => {
  const fd = fs.openSync('/dev/full', 'w');
  t.teardown(() => fs.closeSync(fd));
  const { notes, report } = reporter();
  const out = new JsonOutput(fd, report);
  for (let i = 0; i < 100; i++) {
    out.write('{"event":"scan"}\n');
    if (i % 10 === 0) await sleep(5);
  }
  await waitFor('the writes to fail', () => (out.dropped === 100 ? true : undefined));
  t.is(out.written, 0);
  t.deepEqual(notes, ['failing ENOSPC']);
});

test('a full queue drops and counts, then recovery reports how many were lost', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jsonout-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fd = fs.openSync(path.join(dir, 'events.json'), 'a');
  t.teardown(() => fs.closeSync(fd));
  const { notes, report } = reporter();
  const out = new JsonOutput(fd, report, 100);
  const line = `${'x'.repeat(39)}\n`;
  // The first line goes straight to a write; two more fit the queue; the rest do not.
  for (let i = 0; i < 10; i++) out.write(line);
  t.is(out.dropped, 7);
  await waitFor('the queue to drain', () => (out.pending === 0 && out.written === 3 ? true : undefined));
  out.write(line);
  await waitFor('the next write', () => (out.written === 4 ? true : undefined));
  t.deepEqual(notes, ['failing more than 100 bytes waiting to be written', 'recovered 7']);
});
