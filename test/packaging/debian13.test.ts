// The .deb on Debian 13 (trixie), the distribution a hardened server runs: a root made
// with debootstrap from the mirror this machine's apt uses, the package installed there
// with apt so that its dependencies (nodejs 20 built on the system's libuv, libpcap)
// come from Debian 13, the packaged daemon run in that root inside a network namespace
// and scanned from another, then purged.

import test from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { createTestbed, isRoot, runIn, sleep, waitFor } from '../../harness/netns.js';
import { listenSyslog, SYSLOG_PREFIX } from '../../harness/syslog.js';
import { REPO, childrenOf, commandLine, isAlive, readStatus, signalIfAlive } from '../../harness/daemon.js';
import { ioUringFds } from '../../harness/proc.js';
import { buildGenerator, killStarted, runFlood } from '../../harness/generator.js';
import { ok } from '../helpers/commands.js';
import { debFile, debianMirrors, freshRoot, inRoot, inRootSync } from '../helpers/debianroot.js';

const enabled = process.env['SCANLOGD_PACKAGING_TESTS'] === '1';
const haveDebootstrap = fs.existsSync('/usr/sbin/debootstrap');
const rootTest = enabled && isRoot && haveDebootstrap ? test.serial : test.serial.skip;
if (enabled && isRoot && !haveDebootstrap) console.log('Debian 13 test skipped: debootstrap is missing (apt-get install debootstrap)');

/** Every path in the root that no package owns, apt's and dpkg's own state aside. */
function unownedPaths(root: string): string[] {
  const owned = new Set(
    inRootSync(root, 'chroot "$ROOT" sh -c "cat /var/lib/dpkg/info/*.list"')
      .stdout.split('\n')
      .filter((l) => l !== ''),
  );
  const all = ok('find', [root, '-xdev', '(', '-path', `${root}/proc`, '-o', '-path', `${root}/dev`, ')', '-prune', '-o', '-print']);
  // The account tools' own files count as state too: the shadow suite's backups of the
  // account files (etc/shadow-, etc/gshadow-, written when the postinst adds the scanlogd
  // user and the postrm removes it) and adduser's lock file (run/adduser).
  const state =
    /^\/(var\/lib\/(dpkg|apt|systemd\/deb-systemd)|var\/cache\/(apt|debconf|ldconfig)|var\/log|etc\/ld\.so\.cache|etc\/(passwd|group|shadow|gshadow)-|run\/adduser|tmp|root)(\/|$)/;
  return all
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.slice(root.length) || '/')
    .filter((p) => !owned.has(p) && !state.test(p))
    .sort();
}

test('the Debian mirrors are read from one-line and deb822 apt sources alike', (t) => {
  t.deepEqual(
    debianMirrors([
      { name: '/etc/apt/sources.list', text: '# a comment\ndeb [arch=amd64] http://mirror.example/debian/ bookworm main\n' },
      { name: '/etc/apt/sources.list.d/other.list', text: 'deb https://deb.nodesource.com/node_20.x nodistro main\n' },
    ]),
    { archive: 'http://mirror.example/debian', security: 'http://mirror.example/debian-security' },
  );
  t.deepEqual(
    debianMirrors([
      {
        name: '/etc/apt/sources.list.d/debian.sources',
        text: 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n',
      },
    ]),
    { archive: 'http://deb.debian.org/debian', security: 'http://security.example/debian-security' },
  );
  t.throws(() => debianMirrors([{ name: '/etc/apt/sources.list', text: 'deb http://example.org/ubuntu jammy main\n' }]), {
    message: /no Debian archive/,
  });
});

rootTest(
  'Debian 13: the .deb installs with apt from Debian 13, runs on its nodejs, logs an nmap scan, and its purge leaves nothing',
  async (t) => {
    t.timeout(25 * 60000, 'debootstrap, apt and a scan');
    const deb = debFile();
    const root = freshRoot(t);
    t.is(fs.readFileSync(path.join(root, 'etc/debian_version'), 'utf8').trim().split('.')[0], '13');
    const before = unownedPaths(root);
    fs.copyFileSync(deb, path.join(root, 'tmp', path.basename(deb)));

    const install = inRootSync(
      root,
      'chroot "$ROOT" sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends \\"/tmp/$1\\""',
      [path.basename(deb)],
    );
    t.is(install.code, 0, install.stdout + install.stderr);
    fs.rmSync(path.join(root, 'tmp', path.basename(deb)));
    const versions = inRootSync(
      root,
      'chroot "$ROOT" dpkg-query -W -f "\\${Package} \\${Version}\\n" nodejs libnode115 libuv1t64 libpcap0.8t64 libseccomp2',
    );
    t.log(`from Debian 13:\n${versions.stdout.trim()}`);
    t.regex(versions.stdout, /^nodejs 20\./m, "the dependency is Debian 13's nodejs 20");
    t.regex(versions.stdout, /^libseccomp2 /m, 'the sandbox addon links libseccomp, which the package depends on');
    const nodeVersion = inRootSync(root, 'chroot "$ROOT" node --version').stdout.trim();
    t.regex(nodeVersion, /^v20\.\d+\.\d+$/);

    // --version names the runtime it runs on.
    const version = inRootSync(root, 'chroot "$ROOT" /usr/sbin/scanlogd --version');
    t.is(version.code, 0, version.stderr);
    const packageVersion = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    t.is(version.stdout, `scanlogd-ts ${packageVersion} (Node.js ${nodeVersion})\n`);

    // The daemon in the root, in the target namespace of a test bed, as the issue that
    // found the io_uring ran it: --ipv6 --udp.
    const bed = createTestbed({ ipv6: true });
    const logDir = path.join(root, 'run', 'scanlogd-test');
    fs.mkdirSync(logDir, { mode: 0o755 });
    const syslog = listenSyslog(path.join(logDir, 'log'));
    const [cmd, ...args] = inRoot(
      root,
      'exec chroot "$ROOT" /usr/sbin/scanlogd --foreground --syslog-socket /run/scanlogd-test/log --ipv6 --udp',
      [],
      bed.target,
    );
    const daemon = childProcess.spawn(cmd as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    daemon.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    daemon.stdout.on('data', (d: Buffer) => (stderr += d.toString()));
    // 'close', not 'exit': the status check shows stderr, read to its end only then.
    const exited = new Promise<number | null>((resolve) => daemon.on('close', (code) => resolve(code)));
    t.teardown(async () => {
      killStarted();
      for (const pid of [daemon.pid as number, ...childrenOf(daemon.pid as number)]) {
        for (const child of [pid, ...childrenOf(pid)]) signalIfAlive(child, 'SIGKILL');
      }
      syslog.close();
      bed.destroy();
      await Promise.race([exited, sleep(3000)]);
    });

    const { capture, monitor } = await waitFor(
      'the packaged daemon to run',
      () => {
        if (daemon.exitCode !== null) throw new Error(`the packaged daemon exited with status ${daemon.exitCode}:\n${stderr}`);
        // unshare and sh exec into chroot and the daemon: one process, then its monitor.
        const capture = daemon.pid as number;
        const monitor = childrenOf(capture)[0];
        if (monitor === undefined || commandLine(capture) !== 'scanlogd' || commandLine(monitor) !== 'scanlogd-monitor') return undefined;
        return { capture, monitor };
      },
      30000,
      100,
    );
    t.regex(
      stderr,
      new RegExp(`^scanlogd capture: scanlogd-ts ${packageVersion} \\(Node\\.js ${nodeVersion.replace(/\./g, '\\.')}\\)$`, 'm'),
    );
    // Debian's nodejs uses the system's libuv, which sets up an io_uring for its loops:
    // neither half holds one.
    for (const pid of [capture, monitor]) {
      t.deepEqual(ioUringFds(pid), [], `process ${pid} holds an io_uring`);
      t.not(readStatus(pid)?.uid[0], 0);
    }

    // A flood and a scan, then the counters request to each half: the sandboxes hold
    // on Debian 13's runtime (its glibc, its libuv) through them.
    buildGenerator();
    const flood = await runFlood(bed.scanner, {
      mode: 'syn',
      dst: bed.targetAddr,
      srcNet: '198.19.0.0/16',
      checksum: 'bad',
      rate: 50000,
      count: 200000,
      seconds: 15,
      seed: 13,
    });
    t.true(flood.sent >= 200000);
    const scan = await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1-100', bed.targetAddr], 60000);
    t.is(scan.code, 0, scan.stderr);
    const scannerLine = new RegExp(`^${bed.scannerAddr.replace(/\./g, '\\.')}:\\d+ to ${bed.targetAddr.replace(/\./g, '\\.')} ports `);
    await waitFor(
      `the scan's line in syslog (stderr: ${stderr})`,
      () => (syslog.messages().some((m) => scannerLine.test(m)) ? true : undefined),
      10000,
    );
    t.regex(syslog.datagrams[0] as string, SYSLOG_PREFIX);
    const countersLines = (): number => syslog.messages().filter((m) => m.startsWith('counters: ')).length;
    process.kill(capture, 'SIGUSR1');
    await waitFor(`a counters line (stderr: ${stderr})`, () => (countersLines() === 1 ? true : undefined), 10000);
    // The monitor alone takes no SIGUSR1, so that signalling both halves gives one line.
    process.kill(monitor, 'SIGUSR1');
    await sleep(1000);
    t.is(countersLines(), 1);
    t.true(isAlive(capture) && isAlive(monitor), stderr);

    process.kill(capture, 'SIGTERM');
    t.is(await exited, 0, stderr);

    // The purge takes everything the package made (its files, its accounts, /var/empty),
    // and with the dependencies apt pulled in gone as well, the root is as it was.
    const purge = inRootSync(root, 'chroot "$ROOT" sh -c "apt-get purge -y -qq scanlogd-ts && apt-get autoremove --purge -y -qq"');
    t.is(purge.code, 0, purge.stdout + purge.stderr);
    const passwd = fs.readFileSync(path.join(root, 'etc/passwd'), 'utf8');
    t.notRegex(passwd, /^scanlogd(-notify)?:/m);
    t.notRegex(fs.readFileSync(path.join(root, 'etc/group'), 'utf8'), /^scanlogd(-notify)?:/m);
    fs.rmSync(logDir, { recursive: true, force: true });
    t.deepEqual(unownedPaths(root), before);
  },
);
