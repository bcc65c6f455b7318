// The procctl addon's memory calls: random words for the monitor's hash keys without
// node:crypto, and start-up's pages of the runtime's files given back (native/pages.c),
// before a half's sandbox and inside it.

import test from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { loadProcCtl } from '../../src/shared/procctl.js';
import { randomHashKey } from '../../src/monitor/engine.js';
import { underStartFilter } from '../../harness/startfilter.js';

const SRC = path.resolve(__dirname, '..', '..', 'src');

test('fillRandom fills a Uint32Array from getrandom and refuses anything else', (t) => {
  const procctl = loadProcCtl();
  const a = procctl.fillRandom(new Uint32Array(64));
  const b = procctl.fillRandom(new Uint32Array(64));
  t.notDeepEqual(a, b);
  // 64 random words: the chance that more than 4 are zero is nil.
  t.true(a.filter((w) => w === 0).length < 4);
  t.throws(() => procctl.fillRandom(new Uint8Array(4) as unknown as Uint32Array), { instanceOf: TypeError });
});

test('hash keys are drawn past the pool drawn ahead, and no two are alike', (t) => {
  const keys = Array.from({ length: 40 }, () => randomHashKey());
  t.true(keys.every((key) => key.length === 3));
  t.is(new Set(keys.map((key) => key.join(','))).size, keys.length);
});

test("the monitor's code loads without node:crypto", (t) => {
  // From a file: node -e loads node:crypto for its own use.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scanlogd-crypto-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'load.js');
  fs.writeFileSync(
    script,
    `require(${JSON.stringify(path.join(SRC, 'monitor', 'main.js'))}); console.log(process.moduleLoadList.filter((m) => /crypto/.test(m)).join(' '))`,
  );
  const r = childProcess.spawnSync(process.execPath, [script], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), '');
});

test("start-up's file pages go back before the sandbox and again inside it, and the process runs on", (t) => {
  const script = `
    const fs = require('node:fs');
    const procctl = require(${JSON.stringify(path.join(SRC, 'shared', 'procctl.js'))}).loadProcCtl();
    const sandbox = require(${JSON.stringify(path.join(SRC, 'shared', 'sandbox.js'))});
    const plan = require(${JSON.stringify(path.join(SRC, 'monitor', 'sandbox.js'))}).monitorPlan(process.pid);
    const fileKb = () => Number(/RssFile:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
    const before = fileKb();
    const first = procctl.releaseFilePages();
    const after = fileKb();
    procctl.noNewPrivs();
    sandbox.warmUpNode();
    sandbox.enterSandbox(plan, procctl);
    // Work that runs code start-up had read, then the same call where no file opens.
    const text = JSON.stringify(Array.from({ length: 10000 }, (_, i) => ({ i, s: String(i).padStart(8, '0') })));
    const second = procctl.releaseFilePages();
    console.log(JSON.stringify({ before, after, first, second, parsed: JSON.parse(text).length }));
  `;
  const r = childProcess.spawnSync(process.execPath, underStartFilter(['-e', script]), { encoding: 'utf8', timeout: 20000 });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { before: number; after: number; first: number; second: number; parsed: number };
  t.log(`file-backed RSS ${out.before} kB -> ${out.after} kB; ${(out.first / 1048576).toFixed(1)} MB advised`);
  // A bare node holds about 33 MB of its files at start; at least 10 MB of that goes.
  t.true(out.before - out.after > 10 * 1024, `${out.before} -> ${out.after} kB`);
  // The same mappings, found before the sandbox, are advised inside it.
  t.true(out.first > 0);
  t.is(out.second, out.first);
  t.is(out.parsed, 10000);
});
