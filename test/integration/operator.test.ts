// What an operator does with the daemon, through the real command and the real init
// script (run as /etc/init.d runs it, with Debian's start-stop-daemon): check a
// configuration, print it, restart with a broken file.

import test, { type ExecutionContext } from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { createTestbed, isRoot, runIn, sleep, waitFor, type Testbed } from '../../harness/netns.js';
import { listenSyslog, makePidfilePath, SYSLOG_PREFIX, type SyslogListener } from '../../harness/syslog.js';
import { scanIsLogged, startScene } from '../../harness/testbed-daemon.js';
import { entryScript, isAlive, REPO } from '../../harness/daemon.js';
import { rootOwnedDir } from '../helpers/dirs.js';

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('operator tests skipped: the daemon checks and the init script need root');

/** The daemon's command, as a user runs it: exit status, standard output and standard error. */
function scanlogd(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = childProcess.spawnSync(process.execPath, [entryScript(), ...args], { encoding: 'utf8', timeout: 30000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function writeConfig(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text, { mode: 0o644 });
  return file;
}

rootTest('--check: a good file is "configuration OK", exit 0; nothing is started', (t) => {
  const dir = rootOwnedDir(t);
  const config = writeConfig(dir, 'scanlogd.conf', 'scan-delay = 1.5\nudp = yes\n');
  const r = scanlogd(['--check', '--config', config]);
  t.is(r.stderr, '');
  t.is(r.stdout, 'configuration OK\n');
  t.is(r.status, 0);
  t.is(scanlogd(['-t', '--config', config]).stdout, 'configuration OK\n');
});

const badFiles: Array<{ name: string; text: string; why: (file: string) => string }> = [
  {
    name: 'a value out of range',
    text: '\n# weights\nport-weight-priv = 0\n',
    why: (f) => `${f}:3: bad value "0" for "port-weight-priv": must be a whole number from 1 to 1000.`,
  },
  { name: 'a user that does not exist', text: 'user = nosuchuser\n', why: (f) => `${f}:1: getpwnam("nosuchuser"): No such user` },
  {
    name: 'a --json path in no directory',
    text: 'udp = no\njson = /nonexistent/x\n',
    why: (f) => `${f}:2: --json /nonexistent/x: directory /nonexistent: No such file or directory`,
  },
  {
    name: 'a --json path on /sys',
    text: 'json = /sys/kernel/mm/transparent_hugepage/enabled\n',
    why: (f) =>
      `${f}:1: --json /sys/kernel/mm/transparent_hugepage/enabled: /sys/kernel/mm/transparent_hugepage is under /sys, the kernel's interfaces, not a place for files`,
  },
  { name: 'foreground', text: 'foreground = yes\n', why: (f) => `${f}:1: "foreground" can only be given on the command line` },
  {
    name: 'a capture device that does not exist',
    text: 'interface = nosuchdev0\n',
    why: (f) => `${f}:1: libpcap on nosuchdev0: No such device exists`,
  },
];

for (const bad of badFiles) {
  rootTest(`--check: ${bad.name} is the one line, with the file and line, exit 1`, (t) => {
    const dir = rootOwnedDir(t);
    const config = writeConfig(dir, 'scanlogd.conf', bad.text);
    const r = scanlogd(['--check', '--config', config]);
    t.is(r.stdout, '');
    t.is(r.stderr, `scanlogd: ${bad.why(config)}\n`);
    t.is(r.status, 1);
  });
}

rootTest('--check: a copy of a system file as --json is refused and keeps its mode; /proc paths give no stack trace', (t) => {
  const dir = rootOwnedDir(t);
  const copy = path.join(dir, 'passwd');
  fs.copyFileSync('/etc/passwd', copy);
  fs.chmodSync(copy, 0o644);
  const r = scanlogd(['--check', '--json', copy]);
  t.is(r.stderr, `scanlogd: --json ${copy}: its mode is 644, not 640; the daemon appends only to a file it made\n`);
  t.is(r.status, 1);
  t.is(fs.statSync(copy).mode & 0o7777, 0o644);
  for (const args of [
    ['--json', '/proc/self/status'],
    ['--config', '/proc/self/mem'],
    ['--pidfile', '/proc/self/x.pid'],
    ['--chroot', '/proc'],
  ]) {
    const p = scanlogd(['--check', ...args]);
    t.is(p.status, 1, args.join(' '));
    t.regex(p.stderr, /^scanlogd: .* is under \/proc, the kernel's interfaces, not a place for files\n$/, args.join(' '));
  }
});

rootTest('--print-config prints a file that the daemon reads back to the same settings', (t) => {
  const dir = rootOwnedDir(t);
  const first = writeConfig(
    dir,
    'first.conf',
    'scan-delay = 1.5\nudp = yes\nignore-port = 53\nignore-port = 123-124\npreset = sensitive\n',
  );
  const printed = scanlogd(['--print-config', '--config', first, '--ipv6', '--log-count', '9']);
  t.is(printed.status, 0, printed.stderr);
  t.regex(printed.stdout, /^# scan-delay: from .*first\.conf:1\nscan-delay = 1\.5$/m);
  t.regex(printed.stdout, /^log-count = 9$/m);
  t.regex(printed.stdout, /^ipv6 = yes$/m);
  t.notRegex(printed.stdout, /^(foreground|check|print-config) =/m);
  const second = writeConfig(dir, 'second.conf', printed.stdout);
  const again = scanlogd(['-T', '--config', second]);
  t.is(again.status, 0, again.stderr);
  const values = (text: string): string[] => text.split('\n').filter((line) => !line.startsWith('#'));
  t.deepEqual(values(again.stdout), values(printed.stdout));
});

interface InitScript {
  run(action: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  pidfile: string;
  config: string;
}

/**
 * The package's init script as /etc/init.d holds it, with its paths moved into `dir`:
 * the daemon (this tree's entry, under a wrapper named scanlogd), its run directory,
 * and /etc/default/scanlogd, whose SCANLOGD_OPTS point at a configuration file and a
 * syslog socket of the test's. It runs inside the testbed's target namespace.
 */
function initScript(t: ExecutionContext, bed: Testbed, dir: string, syslog: SyslogListener): InitScript {
  const daemon = path.join(dir, 'sbin', 'scanlogd');
  fs.mkdirSync(path.dirname(daemon), { mode: 0o755 });
  fs.writeFileSync(daemon, `#!/bin/sh\nexec ${process.execPath} ${entryScript()} "$@"\n`, { mode: 0o755 });
  const config = path.join(dir, 'scanlogd.conf');
  fs.writeFileSync(config, 'scan-delay = 3\n', { mode: 0o644 });
  const defaults = path.join(dir, 'default');
  fs.writeFileSync(defaults, `SCANLOGD_OPTS="--config ${config} --syslog-socket ${syslog.path}"\n`);
  const rundir = path.join(dir, 'run');
  const script = fs
    .readFileSync(path.join(REPO, 'packaging', 'scanlogd.init'), 'utf8')
    .replace(/^DAEMON=.*$/m, `DAEMON=${daemon}`)
    .replace(/^RUNDIR=.*$/m, `RUNDIR=${rundir}`)
    .replace(/\/etc\/default\/scanlogd/g, defaults);
  const file = path.join(dir, 'scanlogd.init');
  fs.writeFileSync(file, script, { mode: 0o755 });
  const run = (action: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    runIn(bed.target, 'env', ['SYSTEMCTL_SKIP_REDIRECT=1', '_SYSTEMCTL_SKIP_REDIRECT=1', file, action]);
  t.teardown(async () => {
    await run('stop');
  });
  return { run, pidfile: path.join(rundir, 'scanlogd.pid'), config };
}

/** A testbed, a syslog socket and the init script, all gone when the test ends. */
function initScene(t: ExecutionContext): { bed: Testbed; syslog: SyslogListener; init: InitScript } {
  const bed = createTestbed();
  const dir = rootOwnedDir(t);
  const syslog = listenSyslog(path.join(dir, 'log'));
  t.teardown(() => {
    syslog.close();
    bed.destroy();
  });
  return { bed, syslog, init: initScript(t, bed, dir, syslog) };
}

rootTest('init script: restart with a broken file says why and leaves the running daemon running and detecting', async (t) => {
  const { bed, syslog, init } = initScene(t);
  const started = await init.run('start');
  t.is(started.code, 0, started.stdout + started.stderr);
  const pid = Number(fs.readFileSync(init.pidfile, 'utf8'));
  t.true(isAlive(pid));

  fs.writeFileSync(init.config, 'scan-delay = 3\nscan-dealy = 5\n');
  const restarted = await init.run('restart');
  t.is(restarted.code, 1);
  t.true(restarted.stderr.includes(`scanlogd: ${init.config}:2: unknown key "scan-dealy"`), restarted.stderr);
  t.true(restarted.stderr.includes('scanlogd not restarted: the running daemon keeps running'), restarted.stderr);
  t.is(Number(fs.readFileSync(init.pidfile, 'utf8')), pid);
  t.true(isAlive(pid));
  await scanIsLogged({ bed, syslog });

  const forced = await init.run('force-reload');
  t.is(forced.code, 1);
  t.true(isAlive(pid));

  // Fixed, it restarts: a new daemon.
  fs.writeFileSync(init.config, 'scan-delay = 3\n');
  const fixed = await init.run('restart');
  t.is(fixed.code, 0, fixed.stdout + fixed.stderr);
  await waitFor('the old daemon to go', () => (isAlive(pid) ? undefined : true));
  t.not(Number(fs.readFileSync(init.pidfile, 'utf8')), pid);
});

rootTest('init script: "foreground = yes" in the file is refused at start with its line; the script does not hang', async (t) => {
  const { init } = initScene(t);
  fs.writeFileSync(init.config, 'foreground = yes\n');
  const started = await init.run('start');
  t.is(started.code, 1);
  t.true(started.stderr.includes(`scanlogd: ${init.config}:1: "foreground" can only be given on the command line`), started.stderr);
  t.false(fs.existsSync(init.pidfile));
});

rootTest(
  "SIGHUP to the capture process alone (the pidfile's pid) or to both halves: one daemon.notice line saying a restart is needed; detection goes on",
  async (t) => {
    const { bed, syslog, daemon } = await startScene(t);
    const { capturePid, monitorPid } = await daemon.ready();
    await waitFor('the start line', () => (syslog.notices.length >= 1 ? true : undefined));
    const line = 'SIGHUP: the configuration is read only at start; a restart applies a changed one';
    const said = async (count: number): Promise<void> => {
      await waitFor(`${count} SIGHUP lines`, () => (syslog.notices.length >= 1 + count ? true : undefined));
      await sleep(500);
      t.deepEqual(
        syslog.notices.slice(1).map((d) => d.replace(SYSLOG_PREFIX, '')),
        Array<string>(count).fill(line),
      );
    };
    // What `kill -HUP $(cat pidfile)` and a generic postrotate do.
    process.kill(capturePid, 'SIGHUP');
    await said(1);
    // What `systemctl kill -s HUP` does.
    process.kill(capturePid, 'SIGHUP');
    process.kill(monitorPid, 'SIGHUP');
    await said(2);
    t.true(isAlive(capturePid) && isAlive(monitorPid));
    await scanIsLogged({ bed, syslog });
    t.is(syslog.datagrams.length, 1, syslog.datagrams.join('\n'));
  },
);

rootTest(
  'start and stop each go to syslog once at daemon.notice, with the version, what is watched, the sandbox and the totals; SIGTERM and SIGINT end with 0, and the stop line names the one received',
  async (t) => {
    const stops = [
      { signal: 'SIGTERM', to: 'capture' },
      { signal: 'SIGINT', to: 'capture' },
      { signal: 'SIGINT', to: 'monitor' },
    ] as const;
    for (const { signal, to } of stops) {
      const { bed, syslog, daemon } = await startScene(t, ['--udp']);
      const { capturePid, monitorPid } = await daemon.ready();
      await waitFor('the start line', () => (syslog.notices.length >= 1 ? true : undefined));
      t.regex(
        syslog.notices[0] as string,
        /^<29>... .. ..:..:.. scanlogd: scanlogd-ts \d+\.\d+\.\d+ \(Node\.js v\d+\.\d+\.\d+\) started: raw socket \(after the host firewall\), TCP and UDP over IPv4; monitor sandbox: no_new_privs, .*seccomp/,
      );
      await scanIsLogged({ bed, syslog });
      process.kill(to === 'capture' ? capturePid : monitorPid, signal);
      const end = await daemon.exited;
      t.deepEqual(end, { code: 0, signal: null }, `${signal} to the ${to}: ${daemon.stderr()}`);
      await sleep(200);
      t.is(syslog.notices.length, 2, syslog.notices.join('\n'));
      t.regex(
        syslog.notices[1] as string,
        new RegExp(
          `^<29>.* scanlogd: scanlogd-ts \\S+ \\(Node\\.js v\\S+\\) stopped on ${signal}; totals: packets_seen=\\d+ .*scans_logged=1`,
        ),
        `${signal} to the ${to}`,
      );
      // Neither line is a scan to fail2ban: the filter matches the scan line only.
      t.false(syslog.notices.some((d) => / to .* ports /.test(d)));
    }
  },
);

rootTest('a fault is a stop line of its own at daemon.notice, after the fault at daemon.err', async (t) => {
  const { syslog, daemon } = await startScene(t);
  const { capturePid, monitorPid } = await daemon.ready();
  await waitFor('the start line', () => (syslog.notices.length >= 1 ? true : undefined));
  // The capture process cannot write syslog; the monitor sees its channel close.
  process.kill(capturePid, 'SIGKILL');
  await waitFor('the stop line', () => (syslog.notices.length >= 2 ? true : undefined), 5000);
  t.regex(syslog.notices[1] as string, /^<29>.* stopped on a fault \(exit status [1-9]\d*\); totals: /);
  t.true(
    syslog.datagrams.some((d) => d.startsWith('<27>') && d.includes('capture process closed the channel')),
    syslog.datagrams.join('\n'),
  );
  await waitFor('the monitor to exit', () => (isAlive(monitorPid) ? undefined : true));
});

rootTest(
  'a second start with the same pidfile is refused, naming the holder, exit 1; the first runs on and keeps its pidfile',
  async (t) => {
    const pidfile = makePidfilePath(t);
    const { bed, syslog, daemon } = await startScene(t, ['--pidfile', pidfile]);
    const { capturePid } = await daemon.ready();
    t.is(fs.readFileSync(pidfile, 'utf8'), `${capturePid}\n`);
    // Detached, as a user starts it by hand.
    const second = childProcess.spawnSync(
      'ip',
      ['netns', 'exec', bed.target, process.execPath, entryScript(), '--pidfile', pidfile, '--syslog-socket', syslog.path],
      { encoding: 'utf8', timeout: 30000 },
    );
    t.is(second.stderr, `scanlogd: another scanlogd (pid ${capturePid}) holds ${pidfile}\n`);
    t.is(second.status, 1);
    t.is(fs.readFileSync(pidfile, 'utf8'), `${capturePid}\n`);
    t.true(isAlive(capturePid));
    await scanIsLogged({ bed, syslog });
    t.is(syslog.datagrams.length, 1, 'one line per scan: one daemon');
    t.is(syslog.notices.length, 1, 'one start');
  },
);

rootTest(
  'detached start: a syslog socket that cannot be reached is an error before the command returns, or a warning when --json keeps the scans',
  async (t) => {
    const bed = createTestbed();
    const dir = rootOwnedDir(t);
    t.teardown(() => bed.destroy());
    const pidfile = makePidfilePath(t);
    const missing = path.join(dir, 'no-log');
    const start = (extra: string[]): childProcess.SpawnSyncReturns<string> =>
      childProcess.spawnSync(
        'ip',
        ['netns', 'exec', bed.target, process.execPath, entryScript(), '--pidfile', pidfile, '--syslog-socket', missing, ...extra],
        { encoding: 'utf8', timeout: 30000 },
      );
    const refused = start([]);
    t.is(refused.stderr, `scanlogd: syslog socket ${missing}: No such file or directory; the daemon's lines would go nowhere\n`);
    t.is(refused.status, 1);
    await waitFor('no daemon left', () => (fs.existsSync(pidfile) && isAlive(Number(fs.readFileSync(pidfile, 'utf8'))) ? undefined : true));

    const json = path.join(dir, 'events.json');
    const warned = start(['--json', json]);
    t.is(warned.status, 0, warned.stderr);
    t.is(
      warned.stderr,
      `scanlogd: syslog socket ${missing}: No such file or directory; lines wait for it, scans go to ${json} meanwhile\n`,
    );
    const pid = Number(fs.readFileSync(pidfile, 'utf8'));
    t.true(isAlive(pid));
    process.kill(pid, 'SIGTERM');
    await waitFor('the daemon to stop', () => (isAlive(pid) ? undefined : true));
  },
);

const pidfileEnds: Array<{ end: string; how: (pids: { capturePid: number; monitorPid: number }) => void; status: 'zero' | 'non-zero' }> = [
  { end: 'SIGTERM', how: ({ capturePid }) => process.kill(capturePid, 'SIGTERM'), status: 'zero' },
  { end: 'SIGINT', how: ({ capturePid }) => process.kill(capturePid, 'SIGINT'), status: 'zero' },
  { end: 'the monitor killed', how: ({ monitorPid }) => process.kill(monitorPid, 'SIGKILL'), status: 'non-zero' },
];

for (const { end, how, status } of pidfileEnds) {
  rootTest(`the capture process removes the pidfile at its end: ${end}`, async (t) => {
    const pidfile = makePidfilePath(t);
    const { daemon } = await startScene(t, ['--pidfile', pidfile]);
    const pids = await daemon.ready();
    t.is(fs.readFileSync(pidfile, 'utf8'), `${pids.capturePid}\n`);
    how(pids);
    const { code } = await daemon.exited;
    if (status === 'zero') t.is(code, 0, daemon.stderr());
    else t.not(code, 0, daemon.stderr());
    t.false(fs.existsSync(pidfile), daemon.stderr());
    t.notRegex(daemon.stderr(), /pidfile .* not removed/);
  });
}

rootTest('a pidfile replaced by another file (another inode) is left in place at the end, and that is said', async (t) => {
  const pidfile = makePidfilePath(t);
  const { daemon } = await startScene(t, ['--pidfile', pidfile]);
  const { capturePid } = await daemon.ready();
  // What a newer instance would leave once the old file was removed by hand.
  fs.writeFileSync(`${pidfile}.new`, '4242\n');
  fs.renameSync(`${pidfile}.new`, pidfile);
  process.kill(capturePid, 'SIGTERM');
  t.is((await daemon.exited).code, 0, daemon.stderr());
  t.is(fs.readFileSync(pidfile, 'utf8'), '4242\n');
  t.regex(daemon.stderr(), new RegExp(`scanlogd capture: pidfile ${pidfile} left in place: it is not the file this process locked`));
});
