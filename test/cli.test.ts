// The entry both processes start from: the role it picks from the command line, and a
// start-up failure said in one line, on stderr or on the status pipe of a detached
// start, with exit status 1.

import test from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { REPO } from '../harness/daemon.js';

const ENTRY = path.join(REPO, 'bin', 'scanlogd.js');

/** Runs the entry with `args` to its end; fd 3 is a file whose content comes back as `status`. */
function runEntry(args: string[]): { code: number | null; stdout: string; stderr: string; status: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scanlogd-cli-'));
  try {
    const statusFile = path.join(dir, 'status');
    const fd = fs.openSync(statusFile, 'w');
    const r = childProcess.spawnSync(process.execPath, [ENTRY, ...args], {
      encoding: 'utf8',
      timeout: 30000,
      stdio: ['ignore', 'pipe', 'pipe', fd],
    });
    fs.closeSync(fd);
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, status: fs.readFileSync(statusFile, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (const [what, args, line] of [
  ['no settings', [], 'scanlogd: the monitor takes its settings as one argument'],
  ['two arguments', ['{}', '{}'], 'scanlogd: the monitor takes its settings as one argument'],
  ['settings that are not JSON', ['{bad'], 'scanlogd: monitor settings: not JSON'],
  ['a setting it does not have', ['{"user":"scanlogd"}'], 'scanlogd: monitor settings: user is not a setting of the monitor'],
] as const) {
  test(`the monitor role refuses ${what} in one line on stderr, exit 1, before it runs`, (t) => {
    const r = runEntry(['--role', 'monitor', ...args]);
    t.is(r.code, 1);
    t.is(r.stderr, `${line}\n`);
    t.is(r.stdout, '');
    t.is(r.status, '');
  });
}

test('the capture role: a start-up failure goes to the status pipe when there is one, prefixed "error", and stderr stays empty', (t) => {
  const piped = runEntry(['--status-fd', '3', '--foreground', '--user', 'no-such-user-scanlogd-test']);
  t.is(piped.code, 1);
  t.is(piped.status, 'error scanlogd: getpwnam("no-such-user-scanlogd-test"): No such user\n');
  t.is(piped.stderr, '');
  // Without a status pipe, the same line on stderr.
  const plain = runEntry(['--foreground', '--user', 'no-such-user-scanlogd-test']);
  t.is(plain.code, 1);
  t.is(plain.stderr, 'scanlogd: getpwnam("no-such-user-scanlogd-test"): No such user\n');
  t.is(plain.status, '');
});

test('the capture role: an option refused by the command line parser is its one line on stderr, exit 1', (t) => {
  const r = runEntry(['--foreground', '--hash-size', '3']);
  t.is(r.code, 1);
  t.is(r.stderr, 'scanlogd: --hash-size must be a power of two, not 3\n');
  t.is(r.status, '');
});
