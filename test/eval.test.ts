// The evaluation's tables as the docs print them are what `npm run eval` prints now, and
// the second stage meets what it is for on them: slow vertical scans and sweeps caught
// within their bounds, and no report on any benign scenario.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs = require('node:fs');
import path = require('node:path');
import { REPO } from '../harness/daemon.js';

const STAGE = '--slow-scans';

/** The Markdown table rows of `text`, each as its cells. */
function rows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('| '))
    .map((l) =>
      l
        .slice(2, -2)
        .split(' | ')
        .map((c) => c.trim()),
    );
}

const evalRun = spawnSync(process.execPath, [path.join(REPO, 'dist/eval/run.js')], { encoding: 'utf8', timeout: 120_000 });
const printed = evalRun.stdout ?? '';
const tables = rows(printed);
const header = tables[0] ?? [];
const stage = header.indexOf(STAGE);
const isHeader = (r: string[]): boolean => r.slice(1).join('|') === header.slice(1).join('|');
/** Every scenario row, with the group its table's header names (Vertical, Sweep, Benign). */
const scenarios: Array<{ group: string; cells: string[] }> = [];
for (let i = 0, group = ''; i < tables.length; i++) {
  const r = tables[i] as string[];
  if (isHeader(r)) group = r[0] ?? '';
  else if (r[0] !== '---') scenarios.push({ group, cells: r });
}
const inGroup = (name: string): string[][] => scenarios.filter((s) => s.group.startsWith(name)).map((s) => s.cells);

/** `probes (closed closed), time`, or null for `missed`. */
function caught(cell: string): { probes: number; closed: number } | null {
  const m = /^(\d+) \((\d+) closed\)/.exec(cell);
  return m === null ? null : { probes: Number(m[1]), closed: Number(m[2]) };
}

test('npm run eval prints its tables, with the --slow-scans column', (t) => {
  t.is(evalRun.status, 0, evalRun.stderr);
  t.true(stage > 0);
  t.true(scenarios.length >= 30, `${scenarios.length} scenario rows`);
  t.deepEqual([...new Set(scenarios.map((s) => s.group.split(' ')[0]))], ['Vertical', 'Sweep', 'Benign']);
});

test("docs/slow-scans.md's evaluation tables are the eval's output, row for row", (t) => {
  const docs = rows(fs.readFileSync(path.join(REPO, 'docs/slow-scans.md'), 'utf8')).filter((r) => r.length === header.length);
  t.deepEqual(docs, tables);
});

test("README's rows are the eval's, and its false-positive row adds up the benign rows", (t) => {
  const readme = rows(fs.readFileSync(path.join(REPO, 'README.md'), 'utf8')).filter((r) => r.length === header.length);
  const total = readme.at(-1) ?? [];
  const body = readme.slice(2, -1);
  t.true(body.length >= 8);
  const printedRows = new Map(scenarios.map((s) => [s.cells[0], s.cells]));
  for (const r of body) t.deepEqual(r, printedRows.get(r[0]), r[0]);
  const benign = inGroup('Benign');
  t.true(benign.length >= 10);
  const sums = header.slice(1).map((_, i) => {
    let fps = 0;
    let where = 0;
    for (const r of benign) {
      const m = /FP (\d+)/.exec(r[i + 1] ?? '');
      if (m !== null) {
        fps += Number(m[1]);
        where++;
      }
    }
    return fps === 0 ? '0' : `${fps} in ${where}`;
  });
  t.deepEqual(total.slice(1), sums);
  t.regex(total[0] ?? '', new RegExp(`^false positives, ${benign.length} benign scenarios`));
});

test('--slow-scans: -T0 and -T1 vertical scans caught within 8 closed ports, slow sweeps at 5 hosts, no false positive', (t) => {
  const slow = (r: string[]): boolean => / -T[01],? /.test(`${r[0]} `);
  const vertical = inGroup('Vertical').filter(slow);
  // Behind a gateway that drops silently, absent hosts answer nothing; docs/slow-scans.md says what that costs.
  const sweeps = inGroup('Sweep').filter((r) => slow(r) && !(r[0] ?? '').includes('drops silently'));
  t.true(vertical.length >= 4 && sweeps.length >= 4, `${vertical.length} vertical, ${sweeps.length} sweeps`);
  for (const r of vertical) {
    const c = caught(r[stage] ?? '');
    t.truthy(c, r[0]);
    t.true((c?.closed ?? Infinity) <= 8, `${r[0]}: ${r[stage]}`);
  }
  for (const r of sweeps) {
    const c = caught(r[stage] ?? '');
    t.truthy(c, r[0]);
    t.true((c?.probes ?? Infinity) <= 5, `${r[0]}: ${r[stage]}`);
  }
  for (const r of inGroup('Benign')) t.is(r[stage], '0', r[0]);
  for (const { cells } of scenarios) t.notRegex(cells[stage] ?? '', /FP/, cells[0]);
});
