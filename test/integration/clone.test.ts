// The quick start from where a person clones: a checkout below a mode-0700 directory
// (root's home), `npm ci`, then `npm start` as the README gives it, sees a real scan;
// the tree's own entry still refuses with its one line. The clone is of the committed
// tree (HEAD): uncommitted changes are not in it.

import test from 'ava';
import childProcess = require('node:child_process');
import crypto = require('node:crypto');
import fs = require('node:fs');
import path = require('node:path');
import { createTestbed, isRoot, runIn, sh, sleep, waitFor } from '../../harness/netns.js';
import { listenSyslog, makeSocketDir } from '../../harness/syslog.js';
import { REPO } from '../../harness/daemon.js';

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('clone test skipped: npm start needs root (raw socket, privilege drop)');

/** npm ci builds four native addons; npm start compiles the TypeScript first. */
const NPM_CI_TIMEOUT_MS = 8 * 60 * 1000;

rootTest('a clone in a mode-0700 home: npm ci && npm start sees a scan; bin/scanlogd.js there refuses with its line', async (t) => {
  t.timeout(15 * 60 * 1000);
  const top = makeSocketDir();
  t.teardown(() => fs.rmSync(top, { recursive: true, force: true }));
  const home = path.join(top, 'root');
  fs.mkdirSync(home, { mode: 0o700 });
  fs.chmodSync(home, 0o700);
  const clone = path.join(home, 'scanlogd');
  sh('git', ['clone', '--quiet', REPO, clone]);

  // Where scripts/stage.sh puts this clone's copy; removed at the end, after the daemon.
  const expectedStage = `/run/scanlogd-dev/${crypto.createHash('sha256').update(fs.realpathSync(clone)).digest('hex').slice(0, 12)}`;
  t.teardown(() => fs.rmSync(expectedStage, { recursive: true, force: true }));

  const ci = childProcess.spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: clone, encoding: 'utf8', timeout: NPM_CI_TIMEOUT_MS });
  t.is(ci.status, 0, `${ci.stdout}\n${ci.stderr}`);

  const bed = createTestbed();
  t.teardown(() => bed.destroy());
  const dir = makeSocketDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const syslog = listenSyslog(path.join(dir, 'log'));
  t.teardown(() => syslog.close());

  // The README's command, in the target namespace; its own process group, so that the
  // whole of it (npm, the shell, both daemon processes) is ended at the end.
  const start = childProcess.spawn('ip', ['netns', 'exec', bed.target, 'npm', 'start', '--', '--syslog-socket', syslog.path], {
    cwd: clone,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  start.stdout.on('data', (d: Buffer) => (output += d.toString()));
  start.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => start.on('exit', (code) => resolve(code)));
  t.teardown(async () => {
    try {
      process.kill(-(start.pid as number), 'SIGTERM');
    } catch {
      // Already gone.
    }
    await Promise.race([exited, sleep(3000)]);
  });

  const running = await waitFor(
    'npm start',
    () => (output.includes('scanlogd running in the foreground from') ? true : undefined),
    120000,
    200,
  ).catch(() => false);
  if (!running) {
    t.fail(`npm start did not run the daemon within 2 minutes; its output:\n${output}`);
    return;
  }
  const staged = /running in the foreground from (\S+);/.exec(output)?.[1] ?? '';
  t.is(staged, expectedStage);
  // Scan until the daemon, which may still be starting, logs one (at most ten nmap runs).
  for (let i = 0; i < 10 && syslog.messages().length === 0; i++) {
    const r = await runIn(bed.scanner, 'nmap', [
      '-n',
      '-Pn',
      '-sS',
      '--max-retries',
      '0',
      '-p',
      `${1 + i * 100}-${100 + i * 100}`,
      bed.targetAddr,
    ]);
    t.is(r.code, 0, r.stderr);
    await sleep(300);
  }
  const line = syslog.messages()[0] ?? '';
  t.regex(
    line,
    new RegExp(
      `^${bed.scannerAddr.replace(/\./g, '\\.')}(:\\d+)? to ${bed.targetAddr.replace(/\./g, '\\.')} ports \\d+, .*, fSrpauxy, TOS 00 @\\d\\d:\\d\\d:\\d\\d$`,
    ),
    output,
  );
  // The terminal's copy comes through the daemon's stderr and npm's pipe, which may lag
  // the syslog datagram: wait for it, a bounded time. The daemon runs on, so the pipe
  // cannot be read to its end ('close').
  const shown = await waitFor('the line on the terminal', () => (output.includes(line) ? true : undefined), 10000, 50).catch(() => false);
  t.true(shown, `npm start shows the line on the terminal too; its output:\n${output}`);

  // Nothing was weakened: the home is still private, the clone not writable by others,
  // and the copy the daemon runs from is root's and read-only to everyone else.
  t.is(fs.statSync(home).mode & 0o777, 0o700);
  t.is(fs.statSync(clone).mode & 0o002, 0);
  for (const p of [staged, path.join(staged, 'bin', 'scanlogd.js'), path.join(staged, 'dist', 'src', 'cli.js')]) {
    const st = fs.statSync(p);
    t.is(st.uid, 0, p);
    t.is(st.mode & 0o022, 0, p);
  }

  // The clone's own entry, run by hand, still says what is wrong and what to do.
  const direct = childProcess.spawnSync(process.execPath, [path.join(clone, 'bin', 'scanlogd.js'), '-f'], {
    encoding: 'utf8',
    timeout: 30000,
  });
  t.is(direct.status, 1);
  t.regex(
    direct.stderr,
    /^scanlogd: user scanlogd cannot reach .*\/root\/scanlogd\/bin\/scanlogd\.js: .*\/root is not searchable by it \(mode 700\); install the daemon where that user can read it \(npm start runs a copy of the tree from \/run\/scanlogd-dev\)\n$/,
  );
});
