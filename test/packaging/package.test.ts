// The packages as a user gets them: built from a clean copy of the tree, linted,
// the .deb installed for real, run through its init script, scanned, stopped and
// purged; the .rpm's files and scriptlets; the unit's sandbox; fail2ban on real lines.

import test, { type ExecutionContext } from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { createTestbed, isRoot, runIn, sleep, waitFor, type Testbed } from '../../harness/netns.js';
import { listenSyslog, makeSocketDir, SYSLOG_PREFIX } from '../../harness/syslog.js';
import { REPO, childrenOf, commandLine, isAlive, readStatus, userIds } from '../../harness/daemon.js';
import { ioUringFds } from '../../harness/proc.js';
import type { PacketSpec } from '../helpers/send-packets.js';
import { startScene } from '../../harness/testbed-daemon.js';
import { NOTIFY_USER, appendEvents, makeNotifyDir, scanLine, startEndpoint, writeConfig } from '../helpers/notify.js';
import { ok, run, type Result } from '../helpers/commands.js';

const enabled = process.env['SCANLOGD_PACKAGING_TESTS'] === '1';
const rootTest = enabled && isRoot ? test.serial : test.serial.skip;
if (!enabled) console.log('packaging tests skipped: they run with npm run test:package');
else if (!isRoot) console.log('packaging tests skipped: they need root to install and run the packages');

const PKG = 'scanlogd-ts';
const DIST = path.join(REPO, 'dist');
const PIDFILE = '/run/scanlogd/scanlogd.pid';
const INIT = '/etc/init.d/scanlogd';
const SENDER = path.join(REPO, 'dist', 'test', 'helpers', 'send-packets.js');

/**
 * Warnings kept, each with its reason. lintian: the changelog closes no ITP bug
 * because this package is not uploaded to Debian. rpmlint: the project has no home
 * page yet (URL), and rpmlint 2.4.0 records the man section instead of the page name,
 * so it reports every binary as lacking a manual page.
 */
/** The notifier's files, the same in both packages. */
const NOTIFY_FILES = [
  '/usr/sbin/scanlogd-notify',
  '/etc/scanlogd-notify.conf',
  '/usr/share/man/man8/scanlogd-notify.8.gz',
  '/etc/rsyslog.d/60-scanlogd.conf',
  '/etc/logrotate.d/scanlogd-ts',
];

const LINTIAN_WARNINGS = new Set(['initial-upload-closes-no-bugs']);
const RPMLINT_WARNINGS = new Set(['no-url-tag', 'no-manual-page-for-binary']);

function builtPackage(suffix: '.deb' | '.rpm', dir = DIST): string {
  const prefix = suffix === '.deb' ? `${PKG}_` : `${PKG}-`;
  const found = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith(prefix) && n.endsWith(suffix)) : [];
  if (found.length !== 1) throw new Error(`expected one ${prefix}*${suffix} in ${dir}, found ${found.length}: run npm run package first`);
  return path.join(dir, found[0] as string);
}

const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
/** The packages' revision, from the Debian changelog (the RPM release is the same). */
function revision(): string {
  return ok('dpkg-parsechangelog', ['-l', path.join(REPO, 'packaging', 'debian', 'changelog'), '-S', 'Version'])
    .trim()
    .replace(/^.*-/, '');
}

/** Paths in a .deb's data, without the leading "." and trailing "/". */
function tarNames(deb: string): string[] {
  const listing = childProcess.execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$0" | tar -t', deb], { encoding: 'utf8' });
  return listing
    .split('\n')
    .filter((l) => l !== '' && l !== './')
    .map((l) => l.replace(/^\./, '').replace(/\/$/, ''));
}

function rpmPaths(rpm: string): string[] {
  return ok('rpm', ['-qlp', rpm])
    .split('\n')
    .filter((l) => l !== '');
}

/** Files that must never be shipped: dev dependencies, tests, sources, build leftovers. */
const FORBIDDEN = [
  /\/dist\/(test|bench|harness)(\/|$)/,
  /\/node_modules\/(ava|typescript|@types|nan|raw-socket|unix-dgram|posix|pcap)(\/|$)/,
  // The only native code is the project's own addons.
  /\/node_modules\/.*\.node$/,
  /\/native(\/|$)/,
  /\/node_modules\/[^/]+\/(src|test|tests|example|examples|typings)(\/|$)/,
  /\/build\/Release\/obj\.target/,
  /\.(ts|c|cc|cpp|h|gyp|gypi|map)$/,
  /package-lock\.json$/,
];

/** The project's addons: every native module the daemon and the notifier load. */
const ADDONS = ['rawrecv', 'pcaprecv', 'privdrop', 'syslogsock', 'procctl'];

/** Where the daemon lives in the package: the same tree in the .deb and the .rpm. */
const APP_REQUIRED = [
  '/usr/lib/scanlogd/bin/scanlogd.js',
  '/usr/lib/scanlogd/bin/scanlogd-notify',
  '/usr/lib/scanlogd/dist/src/notify/main.js',
  '/usr/lib/scanlogd/package.json',
  '/usr/lib/scanlogd/dist/src/cli.js',
  '/usr/lib/scanlogd/node_modules/commander/package.json',
  ...ADDONS.map((name) => `/usr/lib/scanlogd/build/Release/${name}.node`),
];

// ---------------------------------------------------------------------------
// Machine state: the package, its account, its directories, its processes.

/**
 * One packaging test run per machine at a time: they share dpkg's database, the
 * scanlogd account and /run/scanlogd.
 */
const LOCK = '/run/scanlogd-package-test.lock';

async function takeLock(): Promise<void> {
  await waitFor(
    `the packaging test lock ${LOCK}`,
    () => {
      try {
        fs.mkdirSync(LOCK, { mode: 0o700 });
        fs.writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
        return true;
      } catch {
        let holder = 0;
        try {
          holder = Number(fs.readFileSync(path.join(LOCK, 'pid'), 'utf8'));
        } catch {
          // Being taken right now.
        }
        if (holder > 0 && !isAlive(holder)) fs.rmSync(LOCK, { recursive: true, force: true });
        return undefined;
      }
    },
    20 * 60000,
    500,
  );
}

test.before(async () => {
  if (enabled && isRoot) await takeLock();
});
test.after.always(() => {
  if (
    enabled &&
    isRoot &&
    fs.existsSync(path.join(LOCK, 'pid')) &&
    fs.readFileSync(path.join(LOCK, 'pid'), 'utf8') === String(process.pid)
  ) {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
});

interface HostState {
  user: string | null;
  group: string | null;
  chroot: fs.Stats | null;
  runDir: fs.Stats | null;
}

function getent(db: 'passwd' | 'group', name: string): string | null {
  const r = run('getent', [db, name]);
  return r.code === 0 ? r.stdout.trim() : null;
}

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch {
    return null;
  }
}

function hostState(): HostState {
  return {
    user: getent('passwd', 'scanlogd'),
    group: getent('group', 'scanlogd'),
    chroot: statOrNull('/var/empty'),
    runDir: statOrNull('/run/scanlogd'),
  };
}

function packageStatus(): string {
  const r = run('dpkg-query', ['-W', '-f', '${db:Status-Status}', PKG]);
  return r.code === 0 ? r.stdout.trim() : 'not-installed';
}

/** Processes running code from the installed package (whoever started them). */
function packagedProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/maps`, 'utf8').includes('/usr/lib/scanlogd/')) pids.push(Number(entry));
    } catch {
      // Gone, or a kernel thread.
    }
  }
  return pids;
}

/** A policy-rc.d that allows everything, for dpkg runs in a private mount namespace. */
function allowPolicy(dir: string): string {
  const file = path.join(dir, 'policy-rc.d');
  fs.writeFileSync(file, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return file;
}

// $0 the policy-rc.d to use; $RUNLEVEL, if set, a /sbin/runlevel to use.
const DPKG_IN_NAMESPACE =
  'if [ -e /usr/sbin/policy-rc.d ]; then mount --bind "$0" /usr/sbin/policy-rc.d; fi; ' +
  'if [ -n "$RUNLEVEL" ]; then mount --bind "$RUNLEVEL" /sbin/runlevel; fi; exec dpkg "$@"';

/**
 * dpkg with the maintainer scripts' invoke-rc.d allowed to act. Container images
 * often carry a policy-rc.d that forbids every start and stop; with it, prerm could
 * not stop the daemon and the test would not see what a real machine does. With
 * `runlevel` (see runlevelTwo), invoke-rc.d acts as in that runlevel.
 */
function dpkg(policy: string, args: string[], runlevel: string | null = null): Result {
  const env = { ...process.env, RUNLEVEL: runlevel ?? '' };
  return run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', DPKG_IN_NAMESPACE, policy, ...args], { env });
}

/**
 * A /sbin/runlevel for dpkg() that answers runlevel 2, as a sysvinit host in it does:
 * invoke-rc.d acts only on what the current runlevel starts, and this machine has none.
 */
function runlevelTwo(dir: string): string {
  const file = path.join(dir, 'runlevel');
  fs.writeFileSync(file, '#!/bin/sh\necho N 2\n', { mode: 0o755 });
  return file;
}

/**
 * Purges the package if a test left it installed, without removing an account or
 * directory that was there before the test (the postinst records only what it made,
 * but a test that hid the host's account from the postinst leaves such records).
 */
function purgeLeftovers(before: HostState, policy: string): void {
  if (packageStatus() !== 'not-installed') {
    for (const [marker, existed] of [
      ['created-user', before.user],
      ['created-group', before.group],
      ['created-chroot', before.chroot],
    ] as const) {
      if (existed !== null) fs.rmSync(`/var/lib/${PKG}/${marker}`, { force: true });
    }
    dpkg(policy, ['--purge', PKG]);
  }
  for (const pid of packagedProcesses()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  restoreRunDir(before);
}

/** /run/scanlogd may belong to the test set-up (the reference's chroot lives below it). */
function restoreRunDir(before: HostState): void {
  if (before.runDir === null) {
    fs.rmSync(PIDFILE, { force: true });
    try {
      fs.rmdirSync('/run/scanlogd');
    } catch {
      // Absent, or someone else's files in it.
    }
    return;
  }
  if (!fs.existsSync('/run/scanlogd')) fs.mkdirSync('/run/scanlogd');
  fs.chownSync('/run/scanlogd', before.runDir.uid, before.runDir.gid);
  fs.chmodSync('/run/scanlogd', before.runDir.mode & 0o7777);
}

/** /run/scanlogd as the host has it: owner, mode and entries. */
function runDirSnapshot(): string {
  const st = statOrNull('/run/scanlogd');
  return st === null
    ? 'absent'
    : `${st.uid}:${st.gid}:${(st.mode & 0o7777).toString(8)} ${fs.readdirSync('/run/scanlogd').sort().join(',')}`;
}

/**
 * Every path with "scanlogd" in it where a package puts or leaves things. man-db's cache
 * of formatted pages is left out: man-db writes a cat page there whenever the page is
 * read, and its own daily job removes it, whatever the package does.
 */
function scanlogdPaths(): string[] {
  const r = run('find', [
    '/etc',
    '/usr',
    '/lib/systemd',
    '/var/lib',
    '/var/cache',
    '/run/scanlogd',
    '(',
    '-path',
    REPO,
    '-o',
    '-path',
    '/var/lib/scanlogd-ci',
    '-o',
    // Node.js builds and the Debian 13 root the tests fetch (scripts/with-node.sh, debian13.test.ts).
    '-path',
    '/var/cache/scanlogd-ts',
    '-o',
    '-path',
    '/var/cache/man',
    ')',
    '-prune',
    '-o',
    '-path',
    '*scanlogd*',
    '-print',
  ]);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

// ---------------------------------------------------------------------------
// Building and linting.

rootTest('npm run package on a clean copy of the tree builds both packages, like those in dist/', (t) => {
  const deb = builtPackage('.deb');
  const rpm = builtPackage('.rpm');
  t.is(path.basename(deb), `${PKG}_${VERSION}-${revision()}_${ok('dpkg', ['--print-architecture']).trim()}.deb`);
  t.is(path.basename(rpm), `${PKG}-${VERSION}-${revision()}.${ok('rpm', ['--eval', '%{_arch}']).trim()}.rpm`);

  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'scanlogd-clean-'));
  t.teardown(() => fs.rmSync(copy, { recursive: true, force: true }));
  ok('sh', [
    '-c',
    'tar -C "$0" --exclude=./node_modules --exclude=./dist --exclude=./.reference --exclude=./.git --exclude="*.log" -cf - . | tar -C "$1" -xf -',
    REPO,
    copy,
  ]);
  ok('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: copy, timeout: 600000 });
  const built = run('npm', ['run', 'package'], { cwd: copy, timeout: 600000 });
  t.is(built.code, 0, built.stdout + built.stderr);

  const cleanDeb = builtPackage('.deb', path.join(copy, 'dist'));
  const cleanRpm = builtPackage('.rpm', path.join(copy, 'dist'));
  t.is(path.basename(cleanDeb), path.basename(deb));
  t.is(path.basename(cleanRpm), path.basename(rpm));
  t.deepEqual(tarNames(cleanDeb).sort(), tarNames(deb).sort());
  t.deepEqual(rpmPaths(cleanRpm), rpmPaths(rpm));
  t.is(ok('dpkg-deb', ['-f', cleanDeb]), ok('dpkg-deb', ['-f', deb]));
});

rootTest('lintian finds no error in the .deb, and only the warnings kept on purpose', (t) => {
  const dir = makeSocketDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const deb = path.join(dir, path.basename(builtPackage('.deb')));
  fs.copyFileSync(builtPackage('.deb'), deb);
  fs.chmodSync(deb, 0o644);
  // lintian asks not to be run as root; it starts in its own directory, since nobody
  // may not enter the clone's (root's home, say).
  const r = run(
    'setpriv',
    [
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      'env',
      `HOME=${dir}`,
      `TMPDIR=${os.tmpdir()}`,
      'lintian',
      '--display-info',
      '--fail-on',
      'error',
      deb,
    ],
    { cwd: dir },
  );
  t.log(r.stdout.trim() || '(lintian: nothing)');
  t.is(r.code, 0, r.stderr);
  const tags = r.stdout.split('\n').filter((l) => /^[EW]: /.test(l));
  t.deepEqual(
    tags.filter((l) => l.startsWith('E: ')),
    [],
  );
  const warnings = tags.filter((l) => l.startsWith('W: ')).map((l) => l.split(' ')[2] as string);
  t.deepEqual(
    warnings.filter((w) => !LINTIAN_WARNINGS.has(w)),
    [],
  );
});

rootTest("rpmlint (with Fedora's settings) finds no error in the .rpm, and only the warnings kept on purpose", (t) => {
  const r = run('rpmlint', ['-c', path.join(REPO, 'packaging', 'rpm', 'rpmlint.toml'), builtPackage('.rpm')]);
  t.log(r.stdout.trim());
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => / [EW]: /.test(l));
  t.deepEqual(
    lines.filter((l) => / E: /.test(l)),
    [],
  );
  const warnings = lines.filter((l) => / W: /.test(l)).map((l) => l.split(' ')[2] as string);
  t.deepEqual(
    warnings.filter((w) => !RPMLINT_WARNINGS.has(w)),
    [],
  );
  t.regex(r.stdout, /0 errors/);
});

// ---------------------------------------------------------------------------
// What the packages hold.

/**
 * The packaged addons that import V8's or Node's C++ API, and so load only on the ABI
 * they were built for; a Node-API addon imports only napi_* functions.
 */
function abiBoundAddons(deb: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scanlogd-addons-'));
  try {
    ok('dpkg-deb', ['-x', deb, dir]);
    const addons = ok('find', [dir, '-name', '*.node'])
      .split('\n')
      .filter((l) => l !== '');
    if (addons.length === 0) throw new Error('the package holds no native addon');
    return addons
      .filter((addon) => /\s(_ZN2v8|_ZN4node)/.test(ok('nm', ['-D', '--undefined-only', addon])))
      .map((addon) => path.relative(dir, addon))
      .sort();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What the packages must require: one major version while an addon is bound to its ABI, else the engines floor. */
function expectedNodeDependency(deb: string): { bound: string[]; deb: string[]; rpm: string } {
  const bound = abiBoundAddons(deb);
  const major = Number(process.versions.node.split('.')[0]);
  const floor = (
    JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } }
  ).engines.node.replace(/^>=\s*/, '');
  return bound.length > 0
    ? { bound, deb: [`nodejs (>= ${major})`, `nodejs (<< ${major + 1}~)`], rpm: `nodejs(abi${major})` }
    : { bound, deb: [`nodejs (>= ${floor})`], rpm: `nodejs(engine) >= ${floor}` };
}

rootTest('the .deb: dependencies, replaced package, and only the daemon with its production modules', (t) => {
  const deb = builtPackage('.deb');
  const field = (name: string): string => ok('dpkg-deb', ['-f', deb, name]).trim();
  t.is(field('Package'), PKG);
  t.is(field('Architecture'), ok('dpkg', ['--print-architecture']).trim());
  const depends = field('Depends').split(/,\s*/);
  const node = expectedNodeDependency(deb);
  t.log(node.bound.length > 0 ? `bound to this Node.js ABI by: ${node.bound.join(', ')}` : 'every addon is Node-API');
  for (const d of ['adduser', ...node.deb]) t.true(depends.includes(d), field('Depends'));
  t.deepEqual(
    depends.filter((d) => d.startsWith('nodejs')),
    node.deb,
  );
  t.true(
    depends.some((d) => d.startsWith('libc6')),
    'the native addons need libc6',
  );
  // The libpcap reader links libpcap.so.0.8.
  t.true(
    depends.some((d) => /^libpcap0\.8( |$)/.test(d)),
    field('Depends'),
  );
  // The sandbox addon links libseccomp.so.2: its filters are compiled by libseccomp.
  t.true(
    depends.some((d) => {
      // 2.5.0 is the first with what the sandbox uses (SCMP_FLTATR_API_SYSRAWRC, clone3, openat2).
      const m = /^libseccomp2 \(>= (\d+)\.(\d+)/.exec(d);
      return m !== null && Number(m[1]) * 100 + Number(m[2]) >= 205;
    }),
    field('Depends'),
  );
  t.is(field('Conflicts'), 'scanlogd');
  t.is(field('Replaces'), 'scanlogd');
  t.is(field('Provides'), 'scanlogd');

  const paths = tarNames(deb);
  for (const p of [
    ...APP_REQUIRED,
    '/usr/sbin/scanlogd',
    '/etc/init.d/scanlogd',
    '/etc/default/scanlogd',
    '/etc/scanlogd.conf',
    '/lib/systemd/system/scanlogd.service',
    '/usr/share/man/man8/scanlogd.8.gz',
    '/usr/share/man/man5/scanlogd.conf.5.gz',
    `/usr/share/doc/${PKG}/copyright`,
    `/usr/share/doc/${PKG}/changelog.Debian.gz`,
    '/etc/fail2ban/filter.d/scanlogd-ts.conf',
    '/etc/fail2ban/jail.d/scanlogd-ts.conf',
    `/usr/share/doc/${PKG}/examples/rsyslog/scanlogd-forward.conf`,
    `/usr/share/doc/${PKG}/examples/rsyslog/scanlogd-collector.conf`,
    ...NOTIFY_FILES,
    '/etc/init.d/scanlogd-notify',
    '/etc/default/scanlogd-notify',
    '/lib/systemd/system/scanlogd-notify.service',
  ]) {
    t.true(paths.includes(p), `${p} is missing from the .deb`);
  }
  t.deepEqual(
    paths.filter((p) => FORBIDDEN.some((re) => re.test(p))),
    [],
  );
  t.deepEqual(
    paths.filter((p) => p.startsWith('/usr/lib/debug')),
    [],
  );
  t.deepEqual(paths.filter((p) => p.endsWith('.node')).sort(), ADDONS.map((name) => `/usr/lib/scanlogd/build/Release/${name}.node`).sort());
  const conffiles = ok('sh', ['-c', 'dpkg-deb --ctrl-tarfile "$0" | tar -xO ./conffiles', deb]).trim().split('\n').sort();
  t.deepEqual(conffiles, [
    '/etc/default/scanlogd',
    '/etc/default/scanlogd-notify',
    '/etc/fail2ban/filter.d/scanlogd-ts.conf',
    '/etc/fail2ban/jail.d/scanlogd-ts.conf',
    '/etc/init.d/scanlogd',
    '/etc/init.d/scanlogd-notify',
    '/etc/logrotate.d/scanlogd-ts',
    '/etc/rsyslog.d/60-scanlogd.conf',
    '/etc/scanlogd-notify.conf',
    '/etc/scanlogd.conf',
  ]);
});

rootTest('every addon in the .deb is Node-API only: no V8 or Node.js C++ symbol, so one build loads on every Node.js line', (t) => {
  const deb = builtPackage('.deb');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scanlogd-deb-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  ok('dpkg-deb', ['-x', deb, dir]);
  for (const name of ADDONS) {
    const file = path.join(dir, 'usr', 'lib', 'scanlogd', 'build', 'Release', `${name}.node`);
    const undefinedSymbols = ok('nm', ['-D', '--undefined-only', file])
      .split('\n')
      .map((l) => l.trim().split(/\s+/).pop() ?? '')
      .filter((sym) => sym !== '');
    t.true(
      undefinedSymbols.some((sym) => sym.startsWith('napi_')),
      `${name}.node uses no Node-API`,
    );
    // Anything the node binary gives besides Node-API would tie it to one Node.js line;
    // libuv (the event loop's poll and timer handles) keeps its ABI across 1.x.
    t.deepEqual(
      ok('nm', ['-D', '--undefined-only', '--demangle', file])
        .split('\n')
        .filter((l) => /node::|v8::|_ZN/.test(l)),
      [],
      `${name}.node`,
    );
    t.regex(ok('nm', ['-D', '--defined-only', file]), /\bnapi_register_module_v1\b/);
  }
});

rootTest('the .rpm: the same daemon tree, its dependencies, and user and systemd scriptlets', (t) => {
  const rpm = builtPackage('.rpm');
  const paths = rpmPaths(rpm);
  for (const p of [
    ...APP_REQUIRED,
    '/usr/sbin/scanlogd',
    '/usr/lib/systemd/system/scanlogd.service',
    '/usr/lib/sysusers.d/scanlogd.conf',
    '/etc/sysconfig/scanlogd',
    '/etc/scanlogd.conf',
    '/usr/share/man/man8/scanlogd.8.gz',
    '/usr/share/man/man5/scanlogd.conf.5.gz',
    '/etc/fail2ban/filter.d/scanlogd-ts.conf',
    '/etc/fail2ban/jail.d/scanlogd-ts.conf',
    ...NOTIFY_FILES,
    '/usr/lib/systemd/system/scanlogd-notify.service',
    '/usr/lib/sysusers.d/scanlogd-notify.conf',
    '/etc/sysconfig/scanlogd-notify',
    '/var/log/scanlogd',
    '/var/lib/scanlogd-notify',
  ]) {
    t.true(paths.includes(p), `${p} is missing from the .rpm`);
  }
  t.true(paths.some((p) => /^\/usr\/share\/licenses\/scanlogd-ts[^/]*\/copyright$/.test(p)));
  // The rsyslog examples, in the documentation directory (named with the version by some rpm builds).
  for (const example of ['scanlogd-forward.conf', 'scanlogd-collector.conf']) {
    t.true(
      paths.some((p) => new RegExp(`^/usr/share/doc/scanlogd-ts[^/]*/rsyslog/${example.replace('.', '\\.')}$`).test(p)),
      `${example} is missing from the .rpm`,
    );
  }
  t.deepEqual(
    paths.filter((p) => FORBIDDEN.some((re) => re.test(p))),
    [],
  );
  // The daemon's tree is the same in both packages.
  const app = (list: string[]): string[] => list.filter((p) => p.startsWith('/usr/lib/scanlogd')).sort();
  t.deepEqual(app(paths), app(tarNames(builtPackage('.deb'))));

  const requires = ok('rpm', ['-qp', '--requires', rpm]).split('\n');
  t.true(requires.includes(expectedNodeDependency(builtPackage('.deb')).rpm), requires.join(', '));
  t.true(requires.includes('/usr/bin/node'));
  t.true(requires.includes('libpcap'), requires.join(', '));
  // 2.5.0 is the first with what the sandbox uses (SCMP_FLTATR_API_SYSRAWRC, clone3, openat2).
  t.true(requires.includes('libseccomp >= 2.5.0'), requires.join(', '));
  // Debian's soname would make the package uninstallable where libpcap is libpcap.so.1.
  t.false(
    requires.some((r) => r.startsWith('libpcap.so')),
    requires.join(', '),
  );
  t.regex(ok('rpm', ['-qp', '--conflicts', rpm]), /^scanlogd$/m);
  t.regex(ok('rpm', ['-qp', '--provides', rpm]), /^scanlogd = /m);
  t.deepEqual(
    ok('rpm', ['-qp', '--configfiles', rpm])
      .split('\n')
      .filter((l) => l !== '')
      .sort(),
    [
      '/etc/fail2ban/filter.d/scanlogd-ts.conf',
      '/etc/fail2ban/jail.d/scanlogd-ts.conf',
      '/etc/logrotate.d/scanlogd-ts',
      '/etc/rsyslog.d/60-scanlogd.conf',
      '/etc/scanlogd-notify.conf',
      '/etc/scanlogd.conf',
      '/etc/sysconfig/scanlogd',
      '/etc/sysconfig/scanlogd-notify',
    ],
  );
  // The notifier's secrets and the events file's directory: its group only.
  const modes = ok('rpm', ['-qp', '--queryformat', '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]', rpm]);
  t.regex(modes, /^-rw-r----- root:scanlogd-notify \/etc\/scanlogd-notify\.conf$/m);
  t.regex(modes, /^drwxr-s--- root:scanlogd-notify \/var\/log\/scanlogd$/m);
  t.regex(modes, /^drwx------ scanlogd-notify:scanlogd-notify \/var\/lib\/scanlogd-notify$/m);

  const parts = ok('rpm', ['-qp', '--scripts', rpm]).split(/^(\w+) scriptlet \(using \/bin\/sh\):$/m);
  const sections = new Map<string, string>();
  for (let i = 1; i + 1 < parts.length; i += 2) sections.set(parts[i] as string, parts[i + 1] as string);
  t.deepEqual([...sections.keys()], ['preinstall', 'postinstall', 'preuninstall', 'postuninstall', 'posttrans']);
  const section = (name: string): string => sections.get(name) ?? '';
  t.regex(section('preinstall'), /getent group scanlogd >\/dev\/null \|\| groupadd -r scanlogd/);
  t.regex(section('preinstall'), /useradd -r -g scanlogd -d \/nonexistent -M -s \/usr\/sbin\/nologin/);
  t.regex(section('preinstall'), /useradd -r -g scanlogd-notify -d \/nonexistent -M -s \/usr\/sbin\/nologin/);
  // The notifier is never preset on: it stays off until a channel is set up.
  t.notRegex(section('postinstall'), /preset scanlogd-notify/);
  t.regex(section('postinstall'), /mkdir -m 0755 \/var\/empty/);
  t.regex(section('postinstall'), /systemctl --no-reload preset scanlogd\.service/);
  t.regex(section('preuninstall'), /systemctl --no-reload disable --now scanlogd\.service scanlogd-notify\.service/);
  // An upgrade restarts the daemon only through the reload (the unit's check first), from
  // the new package's %posttrans: RPM runs the old package's %postun on an upgrade.
  t.regex(section('preinstall'), /if \[ \$1 -ge 2 \]; then\n\s*mkdir -p \/var\/lib\/rpm-state\/scanlogd-ts\n/);
  t.regex(section('postuninstall'), /systemctl try-restart scanlogd-notify\.service/);
  t.notRegex(section('postuninstall'), /scanlogd\.service/);
  t.regex(
    section('posttrans'),
    /systemctl daemon-reload [^\n]*\n\s*if \/usr\/bin\/systemctl --quiet is-active scanlogd\.service &&\n\s*! \/usr\/bin\/systemctl reload scanlogd\.service /,
  );
  t.regex(section('posttrans'), /rmdir \/var\/lib\/rpm-state\/scanlogd-ts \|\| :\n/);
});

const manPages: Array<[string, string, string[]]> = [
  ['scanlogd', 'scanlogd.js', ['SYNOPSIS', 'OPTIONS', 'THE LOG LINE', 'EXIT STATUS', 'FILES', 'SECURITY']],
  [
    'scanlogd-notify',
    'scanlogd-notify',
    ['SYNOPSIS', 'OPTIONS', 'CONFIGURATION FILE', 'DELIVERY', 'POSITION AND ROTATION', 'EXIT STATUS', 'FILES', 'SECURITY'],
  ],
];

for (const [name, entry, headings] of manPages) {
  rootTest(`${name}(8) renders without warnings and documents every option`, (t) => {
    const extracted = makeSocketDir();
    t.teardown(() => fs.rmSync(extracted, { recursive: true, force: true }));
    ok('dpkg-deb', ['-x', builtPackage('.deb'), extracted]);
    const page = { ...process.env, MANWIDTH: '80' };
    let text = '';
    for (const file of [path.join(REPO, 'packaging', `${name}.8`), path.join(extracted, `usr/share/man/man8/${name}.8.gz`)]) {
      const r = run('man', ['--warnings', '-l', file], { env: page });
      t.is(r.code, 0, r.stderr);
      t.is(r.stderr, '', `${file}: ${r.stderr}`);
      text = r.stdout;
    }
    const help = ok(process.execPath, [path.join(REPO, 'bin', entry), '--help']);
    const options = [...help.matchAll(/--[a-z][a-z-]+/g)].map((m) => m[0]);
    t.true(options.length > 10);
    for (const option of new Set(options)) t.true(text.includes(option), `${option} is not in the man page`);
    for (const heading of headings) t.regex(text, new RegExp(`^${heading}$`, 'm'));
  });
}

// ---------------------------------------------------------------------------
// The .deb installed on this machine.

function initScript(action: string): Result {
  // Run the script itself even where systemd would take the call over.
  return run(INIT, [action], { env: { ...process.env, SYSTEMCTL_SKIP_REDIRECT: '1' }, timeout: 60000 });
}

async function runningDaemon(uid: number): Promise<{ capture: number; monitor: number }> {
  return waitFor(
    'the daemon of the init script to run as scanlogd',
    () => {
      const capture = Number(fs.existsSync(PIDFILE) ? fs.readFileSync(PIDFILE, 'utf8') : '0');
      const monitor = capture > 0 ? childrenOf(capture)[0] : undefined;
      if (monitor === undefined || readStatus(capture)?.uid[0] !== uid) return undefined;
      if (commandLine(capture) !== 'scanlogd' || commandLine(monitor) !== 'scanlogd-monitor') return undefined;
      return { capture, monitor };
    },
    10000,
  );
}

async function gone(pids: number[]): Promise<void> {
  await waitFor(`processes ${pids.join(', ')} to end`, () => (pids.some(isAlive) ? undefined : true), 5000);
}

/**
 * A work directory and dpkg policy for a test that installs into a private copy of the
 * machine; at teardown `cleanup` runs first, then the host is put back as it was.
 */
function freshMachine(
  t: ExecutionContext,
  cleanup?: (work: string, policy: ReturnType<typeof allowPolicy>) => void,
): { before: ReturnType<typeof hostState>; work: string; policy: ReturnType<typeof allowPolicy> } {
  const before = hostState();
  const work = freshWorkDir();
  const policy = allowPolicy(work);
  t.teardown(() => {
    purgeLeftovers(before, policy);
    cleanup?.(work, policy);
    fs.rmSync(work, { recursive: true, force: true });
  });
  return { before, work, policy };
}

// Where systemd is PID 1 the init script hands every call to systemctl, so these tests
// of the script itself are skipped there (CI runs without it).
const systemdIsInit = fs.existsSync('/run/systemd/system');
const initScriptTest = systemdIsInit ? test.serial.skip : rootTest;
if (systemdIsInit) console.log('init script tests skipped: systemd is PID 1 here and would take over the script');

initScriptTest(
  'the .deb installed for real: init script start, status, scan, stop; unit verified; purge leaves nothing behind',
  async (t) => {
    const deb = builtPackage('.deb');
    const before = hostState();
    const work = makeSocketDir();
    const policy = allowPolicy(work);
    const syslog = listenSyslog(path.join(work, 'log'));
    t.teardown(() => {
      syslog.close();
      purgeLeftovers(before, policy);
      fs.rmSync(work, { recursive: true, force: true });
    });
    t.is(packageStatus(), 'not-installed', 'the package must not be installed before the test');
    const pathsBefore = scanlogdPaths();

    const install = dpkg(policy, ['-i', deb]);
    t.is(install.code, 0, install.stdout + install.stderr);
    t.is(packageStatus(), 'installed');

    // The account: made by the postinst unless it was there (and then recorded as such).
    const user = getent('passwd', 'scanlogd');
    t.truthy(user);
    t.truthy(getent('group', 'scanlogd'));
    t.is(fs.existsSync(`/var/lib/${PKG}/created-user`), before.user === null);
    t.is(fs.existsSync(`/var/lib/${PKG}/created-chroot`), before.chroot === null);
    if (before.user === null) t.regex(user ?? '', /^scanlogd:x:\d+:\d+:[^:]*:\/nonexistent:\/usr\/sbin\/nologin$/);
    const chroot = fs.statSync('/var/empty');
    t.is(chroot.uid, 0);
    t.is(chroot.mode & 0o022, 0);
    const { uid } = userIds('scanlogd');

    // The unit as installed.
    const verify = run('systemd-analyze', ['verify', '/lib/systemd/system/scanlogd.service']);
    t.is(verify.code, 0, verify.stderr);
    t.is(verify.stdout + verify.stderr, '');
    const security = run('systemd-analyze', ['security', '--offline=true', '/lib/systemd/system/scanlogd.service']).stdout;
    const exposure = /Overall exposure level for scanlogd\.service: (\d+\.\d)/.exec(security)?.[1];
    // 2.5: AF_NETLINK (0.1), which the capture process needs at start for getifaddrs.
    t.true(exposure !== undefined && Number(exposure) <= 2.5, `systemd-analyze security: ${exposure ?? security}`);

    // Whether the postinst started it depends on this machine's runlevel; either way,
    // stop it and give it the test's syslog socket.
    t.log(fs.existsSync(PIDFILE) ? 'the postinst started the daemon' : 'the postinst did not start the daemon (no runlevel here)');
    t.is(initScript('stop').code, 0);
    const stopped = initScript('status');
    t.is(stopped.code, 3, stopped.stdout);
    t.regex(stopped.stdout, /scanlogd is not running/);
    const defaults = fs.readFileSync('/etc/default/scanlogd', 'utf8');
    const setOptions = (options: string): void =>
      fs.writeFileSync('/etc/default/scanlogd', defaults.replace(/^SCANLOGD_OPTS=.*$/m, `SCANLOGD_OPTS="${options}"`));

    // A start the daemon refuses: status 1 and its one-line reason.
    setOptions(`--syslog-socket ${syslog.path} --scan-delay 0`);
    const refused = initScript('start');
    t.is(refused.code, 1, refused.stdout);
    t.regex(refused.stderr, /^scanlogd: option '--scan-delay <seconds>' argument '0' is invalid/m);
    t.is(initScript('status').code, 3);
    setOptions(`--syslog-socket ${syslog.path}`);

    // /etc/scanlogd.conf: root's, every setting but slow-scans commented out, read at every start.
    const confStat = fs.statSync('/etc/scanlogd.conf');
    t.deepEqual([confStat.uid, confStat.gid, confStat.mode & 0o7777], [0, 0, 0o644]);
    const conf = fs.readFileSync('/etc/scanlogd.conf', 'utf8');
    t.is(conf, fs.readFileSync(path.join(REPO, 'packaging', 'scanlogd.conf'), 'utf8'));
    fs.writeFileSync('/etc/scanlogd.conf', `${conf}bogus = 1\n`);
    const badConf = initScript('start');
    fs.writeFileSync('/etc/scanlogd.conf', conf);
    t.is(badConf.code, 1, badConf.stdout);
    t.regex(badConf.stderr, new RegExp(`^scanlogd: /etc/scanlogd\\.conf:${conf.split('\n').length}: unknown key "bogus"$`, 'm'));
    t.is(initScript('status').code, 3);

    const started = initScript('start');
    t.is(started.code, 0, started.stdout + started.stderr);
    const first = await runningDaemon(uid);
    const capture = readStatus(first.capture);
    t.deepEqual(capture?.uid, [uid, uid, uid, uid]);
    t.deepEqual(readStatus(first.monitor)?.uid, [uid, uid, uid, uid]);
    t.is(fs.readlinkSync(`/proc/${first.capture}/root`), '/var/empty');
    t.is(fs.statSync('/run/scanlogd').uid, uid);
    const status = initScript('status');
    t.is(status.code, 0);
    t.regex(status.stdout, /scanlogd is running/);
    // Starting a running daemon changes nothing.
    t.is(initScript('start').code, 0);
    t.is(fs.readFileSync(PIDFILE, 'utf8'), `${first.capture}\n`);

    // nmap from this host to 127.0.0.1: the daemon runs in the host's network namespace.
    const scan = run('nmap', ['-n', '-Pn', '-r', '-sS', '-g', '40000', '--ttl', '50', '--max-retries', '0', '-p', '1-20', '127.0.0.1']);
    t.is(scan.code, 0, scan.stderr);
    await waitFor('a syslog line', () => (syslog.datagrams.length > 0 ? true : undefined));
    await sleep(300);
    t.is(syslog.datagrams.length, 1, syslog.datagrams.join('\n'));
    t.is(SYSLOG_PREFIX.exec(syslog.datagrams[0] as string)?.[1], '25');
    t.is(
      (syslog.messages()[0] as string).replace(/ @\d\d:\d\d:\d\d$/, ''),
      '127.0.0.1:40000 to 127.0.0.1 ports 1, 2, 3, 4, 5, 6, ..., fSrpauxy, TOS 00, TTL 50',
    );

    const restarted = initScript('restart');
    t.is(restarted.code, 0, restarted.stdout + restarted.stderr);
    await gone([first.capture, first.monitor]);
    const second = await runningDaemon(uid);
    t.is(initScript('force-reload').code, 0);
    await gone([second.capture, second.monitor]);
    const third = await runningDaemon(uid);

    // Other processes called scanlogd (another test's daemon, say) are never touched.
    const decoy = childProcess.spawn(process.execPath, ['-e', "process.title = 'scanlogd'; setInterval(() => {}, 1000)"], {
      stdio: 'ignore',
    });
    const stranger = childProcess.spawn('sleep', ['600'], { stdio: 'ignore' });
    t.teardown(() => {
      decoy.kill('SIGKILL');
      stranger.kill('SIGKILL');
    });
    await waitFor('the decoy to name itself', () => (commandLine(decoy.pid as number) === 'scanlogd' ? true : undefined));

    const stop = initScript('stop');
    t.is(stop.code, 0, stop.stdout + stop.stderr);
    await gone([third.capture, third.monitor]);
    t.false(fs.existsSync(PIDFILE));
    const status3 = initScript('status');
    t.is(status3.code, 3, status3.stdout);
    t.is(initScript('stop').code, 0, 'stopping a stopped daemon succeeds');
    t.is(initScript('try-restart').code, 0);
    t.false(fs.existsSync(PIDFILE), 'try-restart does not start a stopped daemon');
    t.is(initScript('reload').code, 3);
    // A pidfile naming a process that is not scanlogd: not running, and not stopped.
    fs.writeFileSync(PIDFILE, `${stranger.pid}\n`);
    const foreign = initScript('status');
    t.is(foreign.code, 1, foreign.stdout);
    t.regex(foreign.stdout, /scanlogd is not running but \/run\/scanlogd\/scanlogd\.pid exists/);
    t.is(initScript('stop').code, 0);
    t.true(isAlive(stranger.pid as number) && isAlive(decoy.pid as number), 'stop signalled a process that is not its daemon');

    // A daemon killed outright leaves its pidfile: status says so; start replaces it.
    t.is(initScript('start').code, 0);
    const killed = await runningDaemon(uid);
    process.kill(killed.capture, 'SIGKILL');
    // Until init reaps it, start-stop-daemon counts a zombie as running.
    await waitFor('the killed daemon to be reaped', () => (fs.existsSync(`/proc/${killed.capture}`) ? undefined : true), 10000);
    await gone([killed.monitor]);
    t.is(initScript('status').code, 1);
    t.is(initScript('start').code, 0);
    const fourth = await runningDaemon(uid);
    t.not(fourth.capture, killed.capture);

    // An upgrade (the same package again) with a configuration the new version refuses:
    // the upgrade goes through, says why, and the daemon it found keeps running.
    const runlevel = runlevelTwo(work);
    fs.writeFileSync('/etc/scanlogd.conf', `${conf}bogus = 1\n`);
    const keptBad = dpkg(policy, ['-i', deb], runlevel);
    fs.writeFileSync('/etc/scanlogd.conf', conf);
    t.is(keptBad.code, 0, keptBad.stdout + keptBad.stderr);
    t.regex(keptBad.stderr, new RegExp(`^scanlogd: /etc/scanlogd\\.conf:${conf.split('\n').length}: unknown key "bogus"$`, 'm'));
    t.regex(keptBad.stderr, /scanlogd not restarted/);
    t.is(fs.readFileSync(PIDFILE, 'utf8'), `${fourth.capture}\n`);
    t.true(isAlive(fourth.capture) && isAlive(fourth.monitor), 'the upgrade stopped the daemon');

    // Reinstalling keeps the edited conffile and what the first postinst recorded, and
    // restarts the daemon now that the configuration passes.
    const markers = fs.readdirSync(`/var/lib/${PKG}`).sort();
    const reinstall = dpkg(policy, ['-i', deb], runlevel);
    t.is(reinstall.code, 0, reinstall.stdout + reinstall.stderr);
    await gone([fourth.capture, fourth.monitor]);
    await runningDaemon(uid);
    t.regex(fs.readFileSync('/etc/default/scanlogd', 'utf8'), new RegExp(`^SCANLOGD_OPTS="--syslog-socket ${syslog.path}"$`, 'm'));
    t.deepEqual(fs.readdirSync(`/var/lib/${PKG}`).sort(), markers);
    t.is(initScript('stop').code, 0);
    await gone([fourth.capture, fourth.monitor]);
    t.true(isAlive(decoy.pid as number), 'the decoy survived');

    // An upgrade of a stopped daemon with a configuration the new version refuses:
    // debhelper's start fails, and the configure step succeeds all the same, as under
    // systemd, saying that the daemon did not start.
    fs.writeFileSync('/etc/scanlogd.conf', `${conf}bogus = 1\n`);
    const stoppedBad = dpkg(policy, ['-i', deb], runlevel);
    fs.writeFileSync('/etc/scanlogd.conf', conf);
    t.is(stoppedBad.code, 0, stoppedBad.stdout + stoppedBad.stderr);
    t.regex(stoppedBad.stderr, /unknown key "bogus"/);
    t.regex(stoppedBad.stderr, /^scanlogd-ts: scanlogd did not start \(see above\)/m);
    t.is(packageStatus(), 'installed');
    t.deepEqual(packagedProcesses(), []);

    // Purged while running: prerm stops it.
    t.is(initScript('start').code, 0);
    const last = await runningDaemon(uid);
    const purge = dpkg(policy, ['--purge', PKG]);
    t.is(purge.code, 0, purge.stdout + purge.stderr);
    await gone([last.capture, last.monitor]);
    t.deepEqual(packagedProcesses(), []);
    t.is(packageStatus(), 'not-installed');

    t.is(getent('passwd', 'scanlogd'), before.user, 'purge removes the account only if the package made it');
    t.is(getent('group', 'scanlogd'), before.group);
    t.is(fs.existsSync('/var/empty'), before.chroot !== null);
    t.false(fs.existsSync(PIDFILE));
    t.is(fs.existsSync('/run/scanlogd'), before.runDir !== null);
    restoreRunDir(before);
    t.deepEqual(scanlogdPaths(), pathsBefore);
  },
);

/**
 * The start of a shell script run in a private mount namespace whose /etc has no
 * scanlogd or scanlogd-notify account, whose /var has no /var/empty and whose /run is empty, as on a
 * machine that never had scanlogd. dpkg's database is the host's; the host's
 * account and directories are never touched. Arguments: a work directory outside
 * /run, the .deb, the allow-all policy-rc.d.
 */
const FRESH_MACHINE = String.raw`
set -eu
work=$1 deb=$2 policy=$3
if [ -e /usr/sbin/policy-rc.d ]; then mount --bind "$policy" /usr/sbin/policy-rc.d; fi
# A /run of its own: the pidfile directory, and the old package's purge runs
# rm -rf /var/run/scanlogd.
mount -t tmpfs -o mode=0755 scanlogd-test /run
mkdir -m 1777 /run/lock
cp -a /etc "$work/etc"
for f in passwd group shadow gshadow; do
	if [ -f "$work/etc/$f" ]; then sed -i -e '/^scanlogd:/d' -e '/^scanlogd-notify:/d' "$work/etc/$f"; fi
done
mount --bind "$work/etc" /etc
mkdir "$work/var"
mount --bind /var "$work/var"
mount -t tmpfs -o mode=0755 scanlogd-test /var
for entry in "$work"/var/* "$work"/var/.[!.]*; do
	[ -e "$entry" ] || [ -L "$entry" ] || continue
	name=$(basename "$entry")
	[ "$name" != empty ] || continue
	if [ -L "$entry" ]; then cp -P "$entry" "/var/$name"
	elif [ -d "$entry" ]; then mkdir "/var/$name"; mount --rbind "$entry" "/var/$name"
	else touch "/var/$name"; mount --bind "$entry" "/var/$name"
	fi
done
[ ! -e /var/empty ] && ! getent passwd scanlogd >/dev/null || { echo "error=the namespace still shows the account or /var/empty"; exit 1; }
trap 'dpkg --purge scanlogd-ts scanlogd >&2 || true' EXIT
start_daemon() {
	# A syslog socket of its own: this machine may run no syslog daemon, and a detached
	# start refuses a socket it cannot reach. It listens (and drops what it gets) for 2 min.
	python3 -c 'import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
time.sleep(120)' "$work/devlog" </dev/null >/dev/null 2>&1 &
	while [ ! -S "$work/devlog" ]; do sleep 0.1; done
	echo "SCANLOGD_OPTS=\"--syslog-socket $work/devlog\"" >>/etc/default/scanlogd
	if SYSTEMCTL_SKIP_REDIRECT=1 /etc/init.d/scanlogd start >&2; then echo "start=0"; else echo "start=$?"; fi
	pid=$(cat /run/scanlogd/scanlogd.pid 2>/dev/null || true)
	echo "pid=$pid"
	sleep 1
	[ -z "$pid" ] || echo "ids=$(awk '/^Uid:/ {print $2, $3, $4, $5} /^Gid:/ {print $2}' /proc/$pid/status | paste -sd ' ') monitor=$(xargs </proc/$pid/task/$pid/children)"
}
`;

const CREATE_AND_PURGE = String.raw`
dpkg -i "$deb" >&2
echo "user=$(getent passwd scanlogd || true)"
echo "group=$(getent group scanlogd || true)"
echo "chroot=$(stat -c %u:%g:%a /var/empty 2>/dev/null || true)"
echo "markers=$(ls /var/lib/scanlogd-ts | paste -sd ' ')"
start_daemon
trap - EXIT
if dpkg --purge scanlogd-ts >&2; then echo "purge=0"; else echo "purge=$?"; fi
echo "after-user=$(getent passwd scanlogd || echo none)"
echo "after-group=$(getent group scanlogd || echo none)"
echo "after-chroot=$([ -e /var/empty ] && echo present || echo absent)"
echo "after-state=$([ -e /var/lib/scanlogd-ts ] && echo present || echo absent)"
`;

/**
 * The notifier as installed: its account and files, off until configured, refused
 * without a channel by its init script, then started with a webhook (argument 4, a
 * server that logs each request to argument 5) behind the daemon writing
 * /var/log/scanlogd/events.json; an nmap scan reaches the webhook; then the purge.
 */
const NOTIFY_INSTALLED = String.raw`
hook=$4 hooklog=$5
dpkg -i "$deb" >&2
echo "notify-user=$(getent passwd scanlogd-notify || true)"
echo "notify-group=$(getent group scanlogd-notify || true)"
echo "conf=$(stat -c %U:%G:%a /etc/scanlogd-notify.conf)"
echo "logdir=$(stat -c %U:%G:%a /var/log/scanlogd)"
echo "statedir=$(stat -c %U:%G:%a /var/lib/scanlogd-notify)"
echo "markers=$(ls /var/lib/scanlogd-ts | paste -sd ' ')"
echo "rc-notify=$(ls /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d | grep -c '^S..scanlogd-notify$' || true)"
echo "rc-daemon=$(ls /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d | grep -c '^S..scanlogd$' || true)"
wants=/etc/systemd/system/multi-user.target.wants
echo "wants-notify=$([ -e $wants/scanlogd-notify.service ] && echo yes || echo no)"
echo "wants-daemon=$([ -e $wants/scanlogd.service ] && echo yes || echo no)"
echo "running-after-install=$([ -e /run/scanlogd-notify.pid ] && echo yes || echo no)"
echo "verify=$(systemd-analyze verify /lib/systemd/system/scanlogd-notify.service 2>&1 | paste -sd ' ')"
echo "exposure=$(systemd-analyze security --offline=true /lib/systemd/system/scanlogd-notify.service 2>/dev/null | sed -n 's/.*Overall exposure level for scanlogd-notify.service: \([0-9.]*\).*/\1/p')"
notify() { SYSTEMCTL_SKIP_REDIRECT=1 /etc/init.d/scanlogd-notify "$@"; }
if notify start >"$work/out" 2>"$work/err"; then echo "unconfigured=0"; else echo "unconfigured=$?"; fi
echo "unconfigured-says=$(tail -n 1 "$work/err")"
printf 'webhook = %s
interval = 1
wait = 1
' "$hook" >>/etc/scanlogd-notify.conf
echo 'json = /var/log/scanlogd/events.json' >>/etc/scanlogd.conf
sed -i "s|^SCANLOGD_OPTS=.*|SCANLOGD_OPTS='--syslog-socket $work/log'|" /etc/default/scanlogd
start_daemon
echo "events=$(stat -c %U:%G:%a /var/log/scanlogd/events.json)"
if notify start >&2; then echo "notify-start=0"; else echo "notify-start=$?"; fi
npid=$(cat /run/scanlogd-notify.pid)
sleep 1
echo "notify-ids=$(awk '/^Uid:/ {print $2, $3} /^Gid:/ {print $2, $3}' /proc/$npid/status | paste -sd ' ') $(cat /proc/$npid/comm)"
notify status >&2 && echo "notify-status=0" || echo "notify-status=$?"
nmap -n -Pn -sS --max-retries 0 -p 1-20 127.0.0.1 >&2
for i in $(seq 100); do grep -q 'port scan from 127.0.0.1' "$hooklog" 2>/dev/null && break; sleep 0.2; done
echo "delivered=$(grep -c 'port scan from 127.0.0.1' "$hooklog" 2>/dev/null || echo 0)"
echo "state=$(stat -c %U:%a /var/lib/scanlogd-notify/position 2>/dev/null || echo none)"
if logrotate -d /etc/logrotate.d/scanlogd-ts >"$work/logrotate" 2>&1; then echo "logrotate=0"; else echo "logrotate=$?"; fi
echo "logrotate-errors=$(grep -ci 'error' "$work/logrotate" || true)"
if rsyslogd -N1 >"$work/rsyslog" 2>&1; then echo "rsyslog=0"; else echo "rsyslog=$?"; fi
# An upgrade (the same package again) restarts a running notifier on the new code,
# once it is enabled, as on a sysvinit host in runlevel 2: invoke-rc.d restarts only
# what the current runlevel starts, and this namespace has no runlevel of its own
# (/sbin/runlevel is systemctl under another name: the namespace's answers "N 2"
# for the upgrade only).
update-rc.d scanlogd-notify enable >&2
printf '#!/bin/sh\necho N 2\n' >"$work/runlevel"
chmod 0755 "$work/runlevel"
mount --bind "$work/runlevel" /sbin/runlevel
dpkg -i "$deb" >&2
umount /sbin/runlevel
upid=$(cat /run/scanlogd-notify.pid 2>/dev/null || echo none)
echo "upgrade-restarted=$([ "$upid" != "$npid" ] && [ -e "/proc/$upid" ] && [ ! -e "/proc/$npid" ] && echo yes || echo no)"
echo "upgraded-comm=$(cat /proc/$upid/comm 2>/dev/null || echo none)"
# Purged while running: prerm stops it before postrm removes its account.
trap - EXIT
if dpkg --purge scanlogd-ts >&2; then echo "purge=0"; else echo "purge=$?"; fi
echo "notify-gone=$([ -e /proc/$upid ] && echo no || echo yes)"
echo "after-user=$(getent passwd scanlogd-notify || echo none)"
echo "after-logdir=$([ -e /var/log/scanlogd ] && echo present || echo absent)"
echo "after-statedir=$([ -e /var/lib/scanlogd-notify ] && echo present || echo absent)"
`;

/**
 * The notifier's prerm under systemd, which the test machines do not run: with
 * /run/systemd/system present (how maintainer scripts tell systemd is the init), a
 * stand-in deb-systemd-invoke records each call and whether the notifier's account
 * still exists at that moment; then the purge.
 */
const PURGE_UNDER_SYSTEMD = String.raw`
dpkg -i "$deb" >&2
mkdir -p /run/systemd/system
cat >"$work/deb-systemd-invoke" <<EOS
#!/bin/sh
echo "\$* user=\$(getent passwd scanlogd-notify >/dev/null && echo present || echo absent)" >>$work/invoked
EOS
chmod 0755 "$work/deb-systemd-invoke"
mount --bind "$work/deb-systemd-invoke" /usr/bin/deb-systemd-invoke
trap - EXIT
if dpkg --purge scanlogd-ts >&2; then echo "purge=0"; else echo "purge=$?"; fi
echo "invoked=$(paste -sd ';' "$work/invoked")"
echo "after-user=$(getent passwd scanlogd-notify || echo none)"
`;

/** Debian's scanlogd 2.2.8 first, then this package over it. Argument 4: the old .deb. */
const REPLACE_OLD = String.raw`
old=$4 format=$5
dpkg -i "$old" >&2
echo "old-user=$(getent passwd scanlogd || true)"
dpkg -i "$deb" >&2
echo "states=$(dpkg-query -W -f "$format" scanlogd scanlogd-ts | paste -sd ' ')"
echo "ours=$(grep -c 'start-stop-daemon --pidfile' /etc/init.d/scanlogd || true)"
echo "binary=$(head -c 2 /usr/sbin/scanlogd)"
start_daemon
trap - EXIT
if dpkg --purge scanlogd-ts >&2 && dpkg --purge scanlogd >&2; then echo "purge=0"; else echo "purge=$?"; fi
`;

/** A root-owned directory outside /run, which the namespace replaces. */
function freshWorkDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scanlogd-fresh-'));
  fs.chmodSync(dir, 0o755);
  return dir;
}

function inFreshMachine(script: string, work: string, policy: string, extra: string[] = []): { result: Result; out: Map<string, string> } {
  const result = run(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', FRESH_MACHINE + script, 'sh', work, builtPackage('.deb'), policy, ...extra],
    {
      timeout: 300000,
    },
  );
  const out = new Map(
    result.stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]),
  );
  return { result, out };
}

initScriptTest(
  'on a machine without them, the package makes the scanlogd account and /var/empty, and its purge removes both',
  async (t) => {
    const { before, work, policy } = freshMachine(t);
    t.is(packageStatus(), 'not-installed');
    const runDir = runDirSnapshot();
    const { result: r, out } = inFreshMachine(CREATE_AND_PURGE, work, policy);
    t.log(r.stderr.trim());
    t.is(r.code, 0, r.stdout + r.stderr);

    const user = /^scanlogd:x:(\d+):(\d+)::\/nonexistent:\/usr\/sbin\/nologin$/.exec(out.get('user') ?? '');
    t.truthy(user, out.get('user'));
    const uid = Number(user?.[1]);
    t.true(uid > 0 && uid < 1000, 'a system account');
    t.regex(out.get('group') ?? '', new RegExp(`^scanlogd:x:${user?.[2]}:$`));
    t.is(out.get('chroot'), '0:0:755');
    t.is(out.get('markers')?.trim(), 'created-chroot created-group created-logdir created-notify-group created-notify-user created-user');
    t.is(out.get('start'), '0');
    t.regex(out.get('ids') ?? '', new RegExp(`^${uid} ${uid} ${uid} ${uid} ${user?.[2]} monitor=\\d+$`));
    t.is(out.get('purge'), '0');
    const pid = Number(out.get('pid'));
    const monitor = Number(/monitor=(\d+)/.exec(out.get('ids') ?? '')?.[1]);
    await gone([pid, monitor]);
    t.is(out.get('after-user'), 'none');
    t.is(out.get('after-group'), 'none');
    t.is(out.get('after-chroot'), 'absent');
    t.is(out.get('after-state'), 'absent');
    t.is(packageStatus(), 'not-installed');
    // The host kept its own.
    t.is(getent('passwd', 'scanlogd'), before.user);
    t.is(fs.existsSync('/var/empty'), before.chroot !== null);
    t.is(runDirSnapshot(), runDir);
  },
);

initScriptTest(
  'scanlogd-notify installed: its account, a secrets file only its group reads, off until a channel is set up, then a scan reaches the webhook; purged',
  async (t) => {
    const { work, policy } = freshMachine(t);
    t.is(packageStatus(), 'not-installed');
    t.false(fs.existsSync('/var/log/scanlogd'), 'the host has no /var/log/scanlogd of its own');
    const hooklog = path.join(work, 'hook.log');
    // A webhook in a process of its own: the shell script below runs synchronously.
    const server = childProcess.spawn(
      process.execPath,
      [
        '-e',
        String.raw`
    const fs = require('node:fs');
    const s = require('node:http').createServer((q, r) => { let b = ''; q.on('data', (d) => (b += d)); q.on('end', () => { fs.appendFileSync(process.argv[1], b + '\n'); r.end('ok'); }); });
    s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
        hooklog,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    t.teardown(() => {
      server.kill('SIGKILL');
    });
    const port = await new Promise<string>((resolve) => server.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
    const { result: r, out } = inFreshMachine(NOTIFY_INSTALLED, work, policy, [`http://127.0.0.1:${port}/hook`, hooklog]);
    t.log(r.stderr.trim().split('\n').slice(-15).join('\n'));
    t.is(r.code, 0, r.stdout + r.stderr);

    const user = /^scanlogd-notify:x:(\d+):(\d+)::\/nonexistent:\/usr\/sbin\/nologin$/.exec(out.get('notify-user') ?? '');
    t.truthy(user, out.get('notify-user'));
    t.true(Number(user?.[1]) < 1000, 'a system account');
    t.regex(out.get('notify-group') ?? '', new RegExp(`^scanlogd-notify:x:${user?.[2]}:$`));
    // Off until configured, in both init systems; the daemon is on. Then configured and
    // started: its user, and the daemon's events file with the notifier's group.
    const expected: Record<string, string> = {
      conf: 'root:scanlogd-notify:640',
      logdir: 'root:scanlogd-notify:2750',
      statedir: 'scanlogd-notify:scanlogd-notify:700',
      markers: 'created-chroot created-group created-logdir created-notify-group created-notify-user created-user',
      'rc-notify': '0',
      'rc-daemon': '4',
      'wants-notify': 'no',
      'wants-daemon': 'yes',
      'running-after-install': 'no',
      verify: '',
      unconfigured: '1',
      'unconfigured-says':
        'scanlogd-notify: no channel configured: set pushover-token and pushover-user, ntfy-url, webhook or mail-to in /etc/scanlogd-notify.conf',
      start: '0',
      events: 'root:scanlogd-notify:640',
      'notify-start': '0',
      'notify-ids': `${user?.[1]} ${user?.[1]} ${user?.[2]} ${user?.[2]} scanlogd-notify`,
      'notify-status': '0',
      delivered: '1',
      state: 'scanlogd-notify:600',
      logrotate: '0',
      'logrotate-errors': '0',
      rsyslog: '0',
      'upgrade-restarted': 'yes',
      'upgraded-comm': 'scanlogd-notify',
      purge: '0',
      'notify-gone': 'yes',
      'after-user': 'none',
      'after-logdir': 'absent',
      'after-statedir': 'absent',
    };
    // The unit's sandbox as systemd scores it (lower is better; the daemon's unit needs capabilities).
    t.log(`systemd-analyze security: scanlogd-notify.service exposure ${out.get('exposure') ?? '?'}`);
    t.true(Number(out.get('exposure')) > 0 && Number(out.get('exposure')) <= 2.5, `exposure ${out.get('exposure') ?? '?'}`);
    t.deepEqual(
      Object.fromEntries(Object.keys(expected).map((k) => [k, out.get(k)])),
      expected,
      [fs.readFileSync(path.join(work, 'logrotate'), 'utf8'), fs.readFileSync(path.join(work, 'rsyslog'), 'utf8')].join('\n'),
    );
    const delivered = JSON.parse(fs.readFileSync(hooklog, 'utf8').trim().split('\n')[0] as string) as { title: string; message: string };
    t.regex(delivered.title, /: port scan from 127\.0\.0\.1$/);
    t.regex(delivered.message, /^127\.0\.0\.1 → 127\.0\.0\.1: \d+ ports \(/);
    t.false(fs.existsSync('/var/log/scanlogd'));
    await gone([Number(out.get('pid'))]);
  },
);

initScriptTest(
  "installed over Debian's scanlogd 2.2.8, the package removes it, takes over its init script and runs as its account",
  async (t) => {
    const { before, work, policy } = freshMachine(t, (w, p) => {
      if (!['', 'not-installed'].includes(run('dpkg-query', ['-W', '-f', '$' + '{db:Status-Status}', 'scanlogd']).stdout.trim())) {
        // Its postrm deletes the account: purge it where the account is a copy.
        inFreshMachine('trap - EXIT; dpkg --purge scanlogd >&2', w, p);
      }
    });
    t.is(packageStatus(), 'not-installed');
    const download = run('apt-get', ['download', 'scanlogd'], { cwd: work });
    t.is(download.code, 0, `apt-get download scanlogd: ${download.stderr}`);
    const old = fs.readdirSync(work).find((n) => /^scanlogd_2\.2\.8.*\.deb$/.test(n));
    if (old === undefined) {
      t.fail(`Debian offers no scanlogd 2.2.8: ${fs.readdirSync(work).join(', ')}`);
      return;
    }

    const runDir = runDirSnapshot();
    const { result: r, out } = inFreshMachine(REPLACE_OLD, work, policy, [
      path.join(work, old),
      '$' + '{Package}:$' + '{db:Status-Status}\\n',
    ]);
    t.log(r.stderr.trim());
    t.is(r.code, 0, r.stdout + r.stderr);
    // The old package made its account with group nogroup; this one runs as it.
    const user = /^scanlogd:x:(\d+):(\d+):/.exec(out.get('old-user') ?? '');
    t.truthy(user, out.get('old-user'));
    t.is(out.get('states'), 'scanlogd:config-files scanlogd-ts:installed');
    t.is(out.get('ours'), '1', "/etc/init.d/scanlogd is this package's");
    t.is(out.get('binary'), '#!', "/usr/sbin/scanlogd is this package's wrapper");
    t.is(out.get('start'), '0');
    t.regex(out.get('ids') ?? '', new RegExp(`^${user?.[1]} ${user?.[1]} ${user?.[1]} ${user?.[1]} ${user?.[2]} monitor=\\d+$`));
    t.is(out.get('purge'), '0');
    await gone([Number(out.get('pid'))]);
    t.is(packageStatus(), 'not-installed');
    t.is(getent('passwd', 'scanlogd'), before.user);
    t.is(runDirSnapshot(), runDir, "the old package's purge ran rm -rf /run/scanlogd on the host");
  },
);

// ---------------------------------------------------------------------------
// The unit's sandbox and fail2ban, with the daemon on real traffic.

/**
 * What systemd does with a unit's ProtectSystem=strict, ProtectHome, PrivateTmp,
 * ProtectProc=invisible, CapabilityBoundingSet and NoNewPrivileges, short of running
 * systemd: every mount read-only but the paths in $SANDBOX_WRITABLE (StateDirectory,
 * ReadWritePaths), an empty /tmp, no homes, a /proc that hides other users'
 * processes, then the command under setpriv with the bounding set in $0 and the rest
 * of setpriv's options and the command in "$@".
 */
const SANDBOX = String.raw`
set -eu
for m in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do
	case $m in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
	mount -o remount,bind,ro "$m" 2>/dev/null || true
done
for w in $(printenv SANDBOX_WRITABLE || true); do
	mount --bind "$w" "$w"
	mount -o remount,bind,rw "$w"
done
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t proc -o hidepid=invisible proc /proc
for d in /home /root /run/user; do
	if [ -d "$d" ]; then mount -t tmpfs -o mode=0 tmpfs "$d"; fi
done
if touch /usr/.scanlogd-sandbox 2>/dev/null; then rm -f /usr/.scanlogd-sandbox; echo "the file system is still writable" >&2; exit 99; fi
exec setpriv --bounding-set "$0" --inh-caps=-all --no-new-privs "$@"
`;

/**
 * SystemCallFilter= and SystemCallErrorNumber=EPERM as systemd applies them: run as
 * python3 -c SYSCALL_FILTER COMMAND..., it loads a filter allowing the names in
 * $ALLOWED_SYSCALLS (a unit's lines expanded by unitSyscalls), refusing everything
 * else with EPERM, and executes the command. With $ALLOWED_FAMILIES (numbers),
 * socket() is allowed for those address families only, as RestrictAddressFamilies=
 * does (systemd answers EAFNOSUPPORT where this answers EPERM).
 */
const SYSCALL_FILTER = String.raw`
import errno, os, seccomp, sys
allowed = os.environ.pop("ALLOWED_SYSCALLS").split()
families = os.environ.pop("ALLOWED_FAMILIES", None)
f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(errno.EPERM))
for name in allowed:
    if name == "socket" and families is not None:
        for family in families.split():
            f.add_rule(seccomp.ALLOW, "socket", seccomp.Arg(0, seccomp.EQ, int(family)))
        continue
    try:
        f.add_rule(seccomp.ALLOW, name)
    except (RuntimeError, ValueError):
        pass  # not a system call of this architecture
f.load()
os.execv(sys.argv[1], sys.argv[1:])
`;

/** Address family numbers of the names a unit's RestrictAddressFamilies= may hold. */
const ADDRESS_FAMILIES: Record<string, number> = { AF_UNIX: 1, AF_INET: 2, AF_INET6: 10, AF_NETLINK: 16, AF_PACKET: 17 };

/** The system call names a unit's SystemCallFilter= lines allow, as systemd reads them. */
function unitSyscalls(lines: string[]): Set<string> {
  const expand = (token: string): string[] => {
    if (!token.startsWith('@')) return [token];
    const listed = run('systemd-analyze', ['syscall-filter', token]).stdout.split('\n').slice(1);
    return listed
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .flatMap(expand);
  };
  // systemd always adds @default to an allow list.
  const allowed = new Set(expand('@default'));
  for (const line of lines) {
    const value = line.replace(/^SystemCallFilter=/, '');
    const refuse = value.startsWith('~');
    for (const name of value.replace(/^~/, '').split(/\s+/).flatMap(expand)) {
      if (refuse) allowed.delete(name);
      else allowed.add(name);
    }
  }
  return allowed;
}

const CAPABILITY_BITS: Record<string, number> = { CAP_SETGID: 6, CAP_SETUID: 7, CAP_NET_RAW: 13, CAP_SYS_CHROOT: 18 };

function requireAccount(t: ExecutionContext): boolean {
  if (getent('passwd', 'scanlogd') !== null) return true;
  t.fail('this test runs the daemon as user scanlogd: create it first (scripts/test-setup.sh or .ci/run do)');
  return false;
}

rootTest(
  "the packaged daemon runs inside the systemd unit's sandbox: its capabilities, no new privileges, a read-only system",
  async (t) => {
    if (!requireAccount(t)) return;
    const dir = makeSocketDir();
    const root = path.join(dir, 'root');
    ok('dpkg-deb', ['-x', builtPackage('.deb'), root]);
    fs.mkdirSync(path.join(dir, 'empty'), { mode: 0o755 });
    const unit = fs.readFileSync(path.join(root, 'lib/systemd/system/scanlogd.service'), 'utf8');
    const setting = (name: string): string => new RegExp(`^${name}=(.*)$`, 'm').exec(unit)?.[1]?.trim() ?? '';
    const caps = setting('CapabilityBoundingSet').split(/\s+/);
    t.deepEqual([...caps].sort(), Object.keys(CAPABILITY_BITS).sort(), 'the unit keeps exactly these capabilities');
    const settings: Array<[string, string]> = [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_PACKET AF_UNIX AF_NETLINK'],
      ['SystemCallArchitectures', 'native'],
      // Restarted after the reload's SIGTERM; systemctl stop is never restarted.
      ['Restart', 'always'],
      ['SystemCallErrorNumber', 'EPERM'],
      ['ProtectProc', 'invisible'],
      ['PrivateMounts', 'yes'],
      // The broadcast addresses read at start need the network configured by then.
      ['Wants', 'network-online.target'],
      ['After', 'network-online.target'],
    ];
    for (const [name, value] of settings) t.is(setting(name), value, name);
    // The init script waits for the same: systemd's generator maps $network to
    // network-online.target, and sysvinit starts it after the interfaces are up.
    const initScript = fs.readFileSync(path.join(root, 'etc/init.d/scanlogd'), 'utf8');
    t.regex(initScript, /^# Required-Start:.*\s\$network(\s|$)/m, 'the init script starts after $network');
    const security = run('systemd-analyze', ['security', '--offline=true', path.join(root, 'lib/systemd/system/scanlogd.service')]).stdout;
    const exposure = /Overall exposure level for scanlogd\.service: (\d+\.\d)/.exec(security)?.[1];
    // 2.5: AF_NETLINK (0.1), which the capture process needs at start for getifaddrs.
    t.true(exposure !== undefined && Number(exposure) <= 2.5, `systemd-analyze security: ${exposure ?? security}`);

    const bed: Testbed = createTestbed();
    const syslog = listenSyslog(path.join(dir, 'log'));
    // The unit's SystemCallFilter= lines as systemd applies them.
    const allowed = unitSyscalls(unit.match(/^SystemCallFilter=.*$/gm) ?? []);
    t.true(allowed.has('chroot') && allowed.has('seccomp') && !allowed.has('mount') && !allowed.has('ptrace'));
    // One call of each group the unit removes (@resources, @raw-io, @reboot, @swap,
    // @module, @clock), io_uring; prlimit64 stays (systemd's @default).
    const removed = ['setpriority', 'iopl', 'reboot', 'swapon', 'init_module', 'settimeofday', 'io_uring_setup', 'io_uring_enter'];
    t.deepEqual(
      removed.filter((name) => allowed.has(name)),
      [],
    );
    t.true(allowed.has('prlimit64'));
    // RestrictAddressFamilies= too: with --ipv6 --udp the daemon opens raw AF_INET and AF_INET6 sockets.
    const families = setting('RestrictAddressFamilies')
      .split(/\s+/)
      .map((name) => ADDRESS_FAMILIES[name] as number);
    t.false(families.includes(undefined as unknown as number));
    const bounding = `-all,${caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`).join(',')}`;
    const command = (syslogPath: string): string[] => [
      'netns',
      'exec',
      bed.target,
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      SANDBOX,
      bounding,
      '/usr/bin/python3',
      '-c',
      SYSCALL_FILTER,
      process.execPath,
      path.join(root, 'usr/lib/scanlogd/bin/scanlogd.js'),
      '--foreground',
      '--chroot',
      path.join(dir, 'empty'),
      '--syslog-socket',
      syslogPath,
      '--ipv6',
      '--udp',
    ];
    const environment = (allowedFamilies: number[]): NodeJS.ProcessEnv => ({
      ...process.env,
      ALLOWED_SYSCALLS: [...allowed].join(' '),
      ALLOWED_FAMILIES: allowedFamilies.join(' '),
    });
    // The emulation bites: without AF_INET6 in the list, --ipv6 cannot start.
    const withoutInet6 = childProcess.spawnSync('ip', command(path.join(dir, 'no-syslog-here')), {
      encoding: 'utf8',
      timeout: 20000,
      env: environment(families.filter((f) => f !== ADDRESS_FAMILIES['AF_INET6'])),
    });
    t.is(withoutInet6.status, 1, withoutInet6.stderr);
    t.regex(withoutInet6.stderr, /Operation not permitted/);
    // ExecStartPre: the same command with --check, in the same sandbox, says the
    // configuration is good and starts nothing; a bad value is its one line there too.
    t.is(setting('ExecStartPre'), '/usr/sbin/scanlogd --foreground --check $SCANLOGD_OPTS');
    t.is(setting('ExecStart'), '/usr/sbin/scanlogd --foreground $SCANLOGD_OPTS');
    // The reload: the same check, then SIGTERM to the daemon (Restart=always starts it again).
    t.deepEqual(unit.match(/^ExecReload=.*$/gm), [
      'ExecReload=/usr/sbin/scanlogd --foreground --check $SCANLOGD_OPTS',
      `ExecReload=+/bin/sh -c '[ -z "$$MAINPID" ] || kill -s TERM "$$MAINPID"'`,
    ]);
    const check = (extra: string[]): childProcess.SpawnSyncReturns<string> =>
      childProcess.spawnSync('ip', [...command(syslog.path), '--check', ...extra], {
        encoding: 'utf8',
        timeout: 20000,
        env: environment(families),
      });
    const good = check([]);
    t.is(good.stdout, 'configuration OK\n', good.stderr);
    t.is(good.stderr, '');
    t.is(good.status, 0);
    const bad = check(['--user', 'nosuchuser']);
    t.is(bad.stderr, 'scanlogd: getpwnam("nosuchuser"): No such user\n');
    t.is(bad.status, 1);
    const child = childProcess.spawn('ip', command(syslog.path), { stdio: ['ignore', 'pipe', 'pipe'], env: environment(families) });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    t.teardown(async () => {
      try {
        if (child.pid !== undefined && isAlive(child.pid)) child.kill('SIGTERM');
        await Promise.race([exited, sleep(2000)]);
        if (child.pid !== undefined && isAlive(child.pid)) child.kill('SIGKILL');
      } finally {
        syslog.close();
        bed.destroy();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    const { uid } = userIds('scanlogd');
    const pid = child.pid as number;
    await waitFor(
      `the sandboxed daemon to run (stderr: ${stderr})`,
      () =>
        readStatus(pid)?.uid[0] === uid &&
        commandLine(pid) === 'scanlogd' &&
        childrenOf(pid).length === 1 &&
        commandLine(childrenOf(pid)[0] as number) === 'scanlogd-monitor'
          ? true
          : undefined,
      10000,
    );
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const expected = Object.values(CAPABILITY_BITS).reduce((m, bit) => m | (1n << BigInt(bit)), 0n);
    t.is(BigInt(`0x${/^CapBnd:\s*(\w+)$/m.exec(status)?.[1] ?? '0'}`), expected);
    t.regex(status, /^NoNewPrivs:\s*1$/m);
    // The unit's filter, and each half's own on top of it; no io_uring in either half
    // (the unit refuses it before the runtime's first loop).
    t.false(allowed.has('io_uring_setup'));
    for (const p of [pid, childrenOf(pid)[0] as number]) {
      t.regex(fs.readFileSync(`/proc/${p}/status`, 'utf8'), /^Seccomp_filters:\s*[3-9]$/m);
      t.deepEqual(ioUringFds(p), []);
    }

    const r = await runIn(bed.scanner, 'nmap', [
      '-n',
      '-Pn',
      '-r',
      '-sS',
      '-g',
      '40000',
      '--ttl',
      '50',
      '--max-retries',
      '0',
      '-p',
      '1-20',
      bed.targetAddr,
    ]);
    t.is(r.code, 0, r.stderr);
    await waitFor('a syslog line', () => (syslog.datagrams.length > 0 ? true : undefined));
    t.is(
      (syslog.messages()[0] as string).replace(/ @\d\d:\d\d:\d\d$/, ''),
      `${bed.scannerAddr}:40000 to ${bed.targetAddr} ports 1, 2, 3, 4, 5, 6, ..., fSrpauxy, TOS 00, TTL 50`,
    );
  },
);

rootTest(
  "the packaged notifier runs inside its unit's sandbox: its user, no capability, no new privileges, its system call filter, a read-only system but its state; a scan event reaches the webhook",
  async (t) => {
    const dir = makeSocketDir();
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const root = path.join(dir, 'root');
    ok('dpkg-deb', ['-x', builtPackage('.deb'), root]);
    const unit = fs.readFileSync(path.join(root, 'lib/systemd/system/scanlogd-notify.service'), 'utf8');
    const setting = (name: string): string => new RegExp(`^${name}=(.*)$`, 'm').exec(unit)?.[1]?.trim() ?? '';
    const settings: Array<[string, string]> = [
      ['User', 'scanlogd-notify'],
      ['Group', 'scanlogd-notify'],
      ['CapabilityBoundingSet', ''],
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['StateDirectory', 'scanlogd-notify'],
      ['MemoryMax', '256M'],
      ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX'],
      ['Restart', 'on-failure'],
    ];
    for (const [name, value] of settings) t.is(setting(name), value, name);
    t.regex(unit, /^CapabilityBoundingSet=$/m);

    const d = makeNotifyDir(t);
    const hook = await startEndpoint(t);
    writeConfig(d.config, [`webhook = ${hook.url}/hook`, 'interval = 1', 'wait = 0.2']);
    appendEvents(d.events, []);
    const { uid, gid } = userIds(NOTIFY_USER);
    // Node.js under the unit's system call filter (@system-service), as systemd applies it.
    const allowed = unitSyscalls(unit.match(/^SystemCallFilter=.*$/gm) ?? []);
    t.true(allowed.has('connect') && allowed.has('execve') && !allowed.has('mount') && !allowed.has('ptrace'));
    const child = childProcess.spawn(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        SANDBOX,
        '-all',
        `--reuid=${uid}`,
        `--regid=${gid}`,
        '--clear-groups',
        '/usr/bin/python3',
        '-c',
        SYSCALL_FILTER,
        process.execPath,
        path.join(root, 'usr/lib/scanlogd/bin/scanlogd-notify'),
        '--config',
        d.config,
        '--events',
        d.events,
        '--state',
        d.state,
        '--hostname',
        'sandboxed',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, SANDBOX_WRITABLE: path.dirname(d.state), ALLOWED_SYSCALLS: [...allowed].join(' ') },
      },
    );
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    // 'close', not 'exit': the status check shows stderr, read to its end only then.
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    t.teardown(async () => {
      if (child.pid !== undefined && isAlive(child.pid)) child.kill('SIGKILL');
      await Promise.race([exited, sleep(2000)]);
    });
    await waitFor(
      `the sandboxed notifier to follow the file (stderr: ${stderr})`,
      () => (stderr.includes('following') ? true : undefined),
      10000,
    );
    // unshare, sh and setpriv each exec the next: the child is the notifier itself.
    const pid = child.pid as number;
    t.is(commandLine(pid), 'scanlogd-notify');
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    t.regex(status, new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, 'm'));
    t.regex(status, /^CapBnd:\s*0+$/m);
    t.regex(status, /^CapEff:\s*0+$/m);
    t.regex(status, /^NoNewPrivs:\s*1$/m);
    t.regex(status, /^Groups:\s*$/m);
    t.regex(status, /^Seccomp_filters:\s*[1-9]$/m);

    appendEvents(d.events, [scanLine('198.18.8.1', [1, 2, 3, 4, 5, 6, 7], Date.now())]);
    const [got] = await hook.waitDelivered(1);
    t.is((JSON.parse(got?.body ?? '{}') as { title: string }).title, 'sandboxed: port scan from 198.18.8.1');
    await waitFor('the position saved in the writable state directory', () => (fs.existsSync(d.state) ? true : undefined));
    child.kill('SIGTERM');
    t.is(await exited, 0, stderr);
  },
);

const SYN = 0x02;
const FIN = 0x01;
const URG = 0x20;

/** Seven privileged ports from one source, 5 ms apart; `vary` picks what changes. */
function scanFrom(n: number, bed: Testbed, vary: { sport?: boolean; daddr?: boolean; flags?: boolean }): PacketSpec[] {
  return Array.from({ length: 7 }, (_, i) => ({
    src: `198.18.251.${n}`,
    dst: vary.daddr && i % 2 === 1 ? bed.targetAddr2 : bed.targetAddr,
    sport: vary.sport ? 41000 + n * 10 + i : 40000 + n,
    dport: 20 + n * 10 + i,
    flags: vary.flags && i % 2 === 1 ? SYN | FIN | URG : SYN,
    tos: vary.flags ? i : 0,
    ttl: vary.flags ? 40 + i : 64,
    delayMs: 5,
  }));
}

rootTest(
  'fail2ban: the filter matches every form of line the daemon writes and takes the source; the jail is off, and loads',
  async (t) => {
    if (!requireAccount(t)) return;
    const { bed, syslog, dir } = await startScene(t);

    const forms = [{}, { sport: true }, { daddr: true }, { sport: true, daddr: true }, { flags: true }, {}];
    const packets = forms.flatMap((vary, i) => scanFrom(i + 1, bed, vary));
    const sent = await runIn(bed.scanner, process.execPath, [SENDER, JSON.stringify(packets)]);
    t.is(sent.code, 0, sent.stderr);
    await waitFor('six lines', () => (syslog.datagrams.length >= 6 ? true : undefined), 8000);
    const messages = syslog.messages();
    t.log(messages.join('\n'));
    // The sixth scan within seconds is the flood notice, which names no one.
    t.is(messages[5], 'More possible port scans follow');
    const scans = messages.slice(0, 5);
    t.regex(scans[0] as string, /^198\.18\.251\.1:40001 to [\d.]+ ports /);
    t.regex(scans[1] as string, /^198\.18\.251\.2 to [\d.]+ ports /);
    t.regex(scans[2] as string, /^198\.18\.251\.3:40003 to [\d.]+ and others, ports /);
    t.regex(scans[3] as string, /^198\.18\.251\.4 to [\d.]+ and others, ports /);
    t.regex(scans[4] as string, /^198\.18\.251\.5:40005 to [\d.]+ ports .*\.\.\., \?Srpa\?xy @\d\d:\d\d:\d\d$/);

    // The filter and jail as packaged, in a copy of this machine's fail2ban set-up
    // (without its own jails, which want logs this machine lacks).
    const extracted = path.join(dir, 'deb');
    ok('dpkg-deb', ['-x', builtPackage('.deb'), extracted]);
    const conf = path.join(dir, 'fail2ban');
    fs.cpSync('/etc/fail2ban', conf, { recursive: true });
    for (const jail of fs.readdirSync(path.join(conf, 'jail.d'))) fs.rmSync(path.join(conf, 'jail.d', jail));
    for (const file of ['filter.d/scanlogd-ts.conf', 'jail.d/scanlogd-ts.conf']) {
      fs.copyFileSync(path.join(extracted, 'etc/fail2ban', file), path.join(conf, file));
    }

    // The datagrams as syslog daemons write them to files: rsyslog's traditional
    // format, its RFC 3339 format (Debian 12's default), and with a pid.
    const stamped = syslog.datagrams.map((d) => ({ stamp: SYSLOG_PREFIX.exec(d)?.[2] as string, message: d.replace(SYSLOG_PREFIX, '') }));
    const iso = new Date().toISOString().replace('Z', '+00:00');
    const logs = {
      traditional: stamped.map((l) => `${l.stamp} testhost scanlogd: ${l.message}`),
      rfc3339: stamped.map((l) => `${iso} testhost scanlogd: ${l.message}`),
      'with a pid': stamped.map((l) => `${l.stamp} testhost scanlogd[4242]: ${l.message}`),
    };
    const sources = scans.map((m) => m.split(/[: ]/)[0]);
    for (const [name, lines] of Object.entries(logs)) {
      const file = path.join(dir, `${name.replace(/ /g, '-')}.log`);
      fs.writeFileSync(file, `${lines.join('\n')}\n`);
      const ips = run('fail2ban-regex', ['-c', conf, '--out', 'ip', file, 'scanlogd-ts']);
      t.is(ips.code, 0, ips.stderr);
      t.deepEqual(ips.stdout.trim().split('\n'), sources, `${name}: ${ips.stdout}${ips.stderr}`);
      const summary = run('fail2ban-regex', ['-c', conf, file, 'scanlogd-ts']);
      t.regex(summary.stdout, /Lines: 6 lines, 0 ignored, 5 matched, 1 missed/, `${name}: ${summary.stdout}`);
    }

    // Off as shipped; once enabled (here on a file instead of the journal) it loads.
    t.false(ok('fail2ban-client', ['-c', conf, '-d']).includes("'scanlogd-ts'"));
    fs.writeFileSync(
      path.join(conf, 'jail.d', 'scanlogd-ts.local'),
      `[scanlogd-ts]\nenabled = true\nbackend = auto\nlogpath = ${path.join(dir, 'traditional.log')}\n`,
    );
    const check = run('fail2ban-client', ['-c', conf, '-t']);
    t.is(check.code, 0, check.stdout + check.stderr);
    const dump = ok('fail2ban-client', ['-c', conf, '-d']);
    t.regex(dump, /\['add', 'scanlogd-ts', 'auto'\]/);
    t.regex(dump, /\['set', 'scanlogd-ts', 'maxretry', 1\]/);
    t.regex(dump, /\['set', 'scanlogd-ts', 'addaction', '[a-z]+-allports'\]/);
    t.regex(dump, /\['set', 'scanlogd-ts', 'addjournalmatch', 'SYSLOG_IDENTIFIER=scanlogd'\]/);
  },
);

initScriptTest('under systemd, the prerm stops scanlogd-notify (and the daemon) before the purge removes its account', (t) => {
  const { work, policy } = freshMachine(t);
  const { result: r, out } = inFreshMachine(PURGE_UNDER_SYSTEMD, work, policy);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.is(out.get('purge'), '0');
  t.deepEqual(out.get('invoked')?.split(';'), ['stop scanlogd-notify.service user=present', 'stop scanlogd.service user=present']);
  t.is(out.get('after-user'), 'none');
});
