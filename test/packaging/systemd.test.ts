// The packaged unit under a real systemd: a Debian 13 root with systemd, booted in a
// container (systemd-nspawn, with no network but its own), the .deb installed there.
// A restart that checks first (the reload), and an upgrade of a running daemon, leave it
// running when the configuration is bad; with a good one each restarts it once.

import test, { type ExecutionContext } from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { isRoot, sleep, waitFor } from '../../harness/netns.js';
import { childrenOf, signalIfAlive } from '../../harness/daemon.js';
import { run, type Result } from '../helpers/commands.js';
import { debFile, freshRoot, inRootSync } from '../helpers/debianroot.js';

const enabled = process.env['SCANLOGD_PACKAGING_TESTS'] === '1';
const NSPAWN = '/usr/bin/systemd-nspawn';
const haveTools = fs.existsSync('/usr/sbin/debootstrap') && fs.existsSync(NSPAWN);
const rootTest = enabled && isRoot && haveTools ? test.serial : test.serial.skip;
if (enabled && isRoot && !haveTools)
  console.log('systemd test skipped: it needs debootstrap and systemd-nspawn (apt-get install systemd-container)');

/** Longer than the unit's RestartSec=, so that a restart systemd would make has been made. */
const PAST_RESTART_MS = 7000;

function comm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

interface Container {
  /** Runs `script` (sh) in the container, in all of its namespaces. */
  sh: (script: string) => Result;
}

/**
 * Boots `root` under systemd-nspawn and waits for its systemd to finish starting up.
 * --keep-unit --register=no: the container stays in this process's control group and
 * is registered nowhere, which works from any control group, whether this host's PID 1
 * is systemd or not; without them nspawn needs the host's systemd and machined to give
 * it a scope of its own. Debian 13's systemd needs the unified cgroup hierarchy, which
 * nspawn gives it on a hybrid host only when asked.
 */
async function boot(t: ExecutionContext, root: string): Promise<Container> {
  const nspawn = childProcess.spawn(
    NSPAWN,
    [
      '--quiet',
      `--directory=${root}`,
      '--boot',
      '--private-network',
      '--register=no',
      '--keep-unit',
      `--machine=scanlogd-test-${process.pid}`,
      '--console=pipe',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' } },
  );
  let output = '';
  nspawn.stdout.on('data', (d: Buffer) => (output += d.toString()));
  nspawn.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const closed = new Promise<void>((resolve) => nspawn.on('close', () => resolve()));
  const pid = nspawn.pid as number;
  t.teardown(async () => {
    // One SIGTERM halts the container cleanly; its root is removed only once it is down.
    signalIfAlive(pid, 'SIGTERM');
    if ((await Promise.race([closed.then(() => true), sleep(30000).then(() => false)])) === false) {
      for (const child of childrenOf(pid)) signalIfAlive(child, 'SIGKILL');
      signalIfAlive(pid, 'SIGKILL');
      await closed;
    }
  });
  const leader = await waitFor(
    () => `the container to start (${output})`,
    () => {
      if (nspawn.exitCode !== null) throw new Error(`systemd-nspawn exited with status ${nspawn.exitCode}:\n${output}`);
      // nspawn's child becomes the container's systemd once it has set the container up.
      return childrenOf(pid).find((child) => comm(child) === 'systemd');
    },
    30000,
    100,
  );
  const sh = (script: string): Result => run('nsenter', ['-t', String(leader), '-a', 'sh', '-c', script], { timeout: 120000 });
  // Until its manager listens, systemctl in there cannot connect: ask again until it says.
  const state = await waitFor(
    () => `the container's systemd to finish starting (${output})`,
    () => /^(running|degraded)$/m.exec(sh('systemctl is-system-running --wait').stdout)?.[1],
    120000,
    500,
  );
  t.log(`the container's systemd: ${state} (${sh('systemctl --version').stdout.split('\n')[0] ?? ''})`);
  if (state !== 'running') t.log(sh('systemctl --failed --no-pager').stdout);
  return { sh };
}

rootTest(
  'systemd: a reload checks before it restarts, an upgrade restarts only a configuration the new version accepts, and a stop stays stopped',
  async (t) => {
    t.timeout(25 * 60000, 'debootstrap, apt and a boot');
    const deb = debFile();
    const root = freshRoot(t, ['systemd', 'systemd-sysv']);
    // /var/tmp: the booted system mounts a tmpfs on /tmp.
    const inside = `/var/tmp/${path.basename(deb)}`;
    fs.copyFileSync(deb, path.join(root, inside));
    const install = inRootSync(
      root,
      `chroot "$ROOT" sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${inside}"`,
    );
    t.is(install.code, 0, install.stdout + install.stderr);
    // From here on the packages' scripts may start and restart services, as on a server.
    fs.rmSync(path.join(root, 'usr/sbin/policy-rc.d'));

    const { sh } = await boot(t, root);
    const show = (property: string): string => sh(`systemctl show --property=${property} --value scanlogd.service`).stdout.trim();
    const journal = (): string[] => sh('journalctl --quiet --identifier=scanlogd --output=cat').stdout.split('\n');
    const starts = (): number => journal().filter((l) => / started: /.test(l)).length;
    const stops = (): number => journal().filter((l) => / stopped on /.test(l)).length;
    // Alive and the daemon (its title set, past the shell script and node), as the container sees it.
    const isDaemon = (pid: string): boolean => sh(`cat /proc/${pid}/comm`).stdout.trim() === 'scanlogd';
    const unitLog = (): string => sh('journalctl -u scanlogd.service --no-pager -o cat').stdout;
    // Running once its start line is out (the n-th), with a main pid other than `other`.
    const running = (what: string, n: number, other = ''): Promise<string> =>
      waitFor(
        () => `${what}: ${show('ActiveState')}, MainPID ${show('MainPID')}, ${starts()} starts; the unit's journal:\n${unitLog()}`,
        () => {
          const pid = show('MainPID');
          return show('ActiveState') === 'active' && pid !== '0' && pid !== other && starts() >= n && isDaemon(pid) ? pid : undefined;
        },
        30000,
        200,
      );

    // Installed enabled, so started at boot.
    const first = await running('the daemon to start at boot', 1);
    t.is(starts(), 1);
    t.is(stops(), 0);

    // A bad configuration: the reload fails, says why, and leaves the daemon running.
    const lines = sh('wc -l </etc/scanlogd.conf').stdout.trim();
    sh("echo 'bogus = 1' >>/etc/scanlogd.conf");
    const refused = sh('systemctl reload scanlogd');
    t.not(refused.code, 0);
    t.regex(refused.stderr, /Job for scanlogd\.service failed/);
    t.true(
      sh('journalctl --quiet -u scanlogd.service --output=cat').stdout.includes(
        `scanlogd: /etc/scanlogd.conf:${Number(lines) + 1}: unknown key "bogus"`,
      ),
    );
    await sleep(PAST_RESTART_MS);
    t.is(show('MainPID'), first);
    t.is(show('ActiveState'), 'active');
    t.true(isDaemon(first));
    t.deepEqual([starts(), stops()], [1, 0]);

    // An upgrade (the same package again) with that file kept: the new version's check
    // refuses it, the postinst says so, and the old daemon runs on.
    const keptBad = sh(`dpkg -i ${inside}`);
    t.is(keptBad.code, 0, keptBad.stdout + keptBad.stderr);
    t.regex(keptBad.stderr, new RegExp(`^scanlogd: /etc/scanlogd\\.conf:${Number(lines) + 1}: unknown key "bogus"$`, 'm'));
    t.regex(keptBad.stderr, /^scanlogd: the configuration is refused; the running daemon keeps running$/m);
    await sleep(PAST_RESTART_MS);
    t.is(show('MainPID'), first);
    t.true(isDaemon(first));
    t.deepEqual([starts(), stops()], [1, 0]);

    // Fixed: the reload restarts it, with one stop line and one start line.
    sh("sed -i '/^bogus = 1$/d' /etc/scanlogd.conf");
    const reload = sh('systemctl reload scanlogd');
    t.is(reload.code, 0, reload.stderr);
    const second = await running('the daemon to start again after the reload', 2, first);
    t.false(isDaemon(first));
    // Restarted once: no second restart comes after the restart delay.
    await sleep(PAST_RESTART_MS);
    t.is(show('MainPID'), second);
    t.deepEqual([starts(), stops()], [2, 1]);
    t.regex(journal().find((l) => / stopped on /.test(l)) ?? '', / stopped on SIGTERM; /);

    // An upgrade with a good file restarts it once too.
    const upgrade = sh(`dpkg -i ${inside}`);
    t.is(upgrade.code, 0, upgrade.stdout + upgrade.stderr);
    t.notRegex(upgrade.stderr, /refused/);
    const third = await running('the daemon to start again after the upgrade', 3, second);
    await sleep(PAST_RESTART_MS);
    t.is(show('MainPID'), third);
    t.true(isDaemon(third));
    t.deepEqual([starts(), stops()], [3, 2]);

    // systemctl stop: stopped, and it stays stopped.
    const stop = sh('systemctl stop scanlogd');
    t.is(stop.code, 0, stop.stderr);
    await sleep(PAST_RESTART_MS);
    t.is(show('ActiveState'), 'inactive');
    t.is(show('MainPID'), '0');
    // SIGTERM ends it cleanly: status 0, which systemd counts as success.
    t.is(show('ExecMainStatus'), '0');
    t.is(show('Result'), 'success');
    t.deepEqual([starts(), stops()], [3, 3]);
  },
);
