// The halves against each other: both run with no_new_privs and are not dumpable, so
// a compromised capture process (the same user as the monitor, and its parent) cannot
// take the monitor over with ptrace, and the reverse. The attacks are made from inside
// the running processes, by gdb calling ptrace(2) there with their own credentials.

import test from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import { isRoot } from '../../harness/netns.js';
import { startScene } from '../../harness/testbed-daemon.js';
import { isAlive, userIds } from '../../harness/daemon.js';
import { callInside } from '../helpers/gdb.js';

const haveGdb = fs.existsSync('/usr/bin/gdb');
const rootTest = isRoot && haveGdb ? test.serial : test.serial.skip;
if (!isRoot || !haveGdb) console.log('isolation tests skipped: they need root and gdb');

const PTRACE_SEIZE = 0x4206;
const EPERM = 1;

function statusField(pid: number | string, task: number | string, name: string): string {
  const text = fs.readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
  return new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
}

rootTest('both halves: no_new_privs in every thread of the monitor, neither dumpable (their /proc files are root\'s)', async (t) => {
  const { daemon } = await startScene(t);
  const { capturePid, monitorPid } = await daemon.ready();
  const { uid } = userIds('scanlogd');
  const monitorThreads = fs.readdirSync(`/proc/${monitorPid}/task`);
  t.true(monitorThreads.length > 1);
  for (const task of monitorThreads) t.is(statusField(monitorPid, task, 'NoNewPrivs'), '1', `monitor thread ${task}`);
  // The capture process sets it on the thread that started the monitor, its main one.
  t.is(statusField(capturePid, capturePid, 'NoNewPrivs'), '1');
  for (const pid of [capturePid, monitorPid]) {
    t.is(statusField(pid, pid, 'Uid').split(/\s+/)[0], String(uid), 'it runs as scanlogd');
    // A dumpable process's /proc entries belong to its user; these are root's.
    t.is(fs.statSync(`/proc/${pid}/environ`).uid, 0, `pid ${pid}`);
    t.is(fs.statSync(`/proc/${pid}/mem`).uid, 0, `pid ${pid}`);
  }
});

for (const [attacker, target] of [['capture process', 'monitor'], ['monitor', 'capture process']] as const) {
  rootTest(`from inside the ${attacker}, ptrace of the ${target} is refused (EPERM) and both run on`, async (t) => {
    const { daemon } = await startScene(t);
    const { capturePid, monitorPid } = await daemon.ready();
    const [from, to] = attacker === 'monitor' ? [monitorPid, capturePid] : [capturePid, monitorPid];
    const { values, output } = callInside(from, [`call (long)ptrace(${PTRACE_SEIZE}, ${to}, 0, 0)`, 'call (int)*__errno_location()']);
    t.deepEqual(values, [-1, EPERM], output);
    t.is(statusField(to, to, 'TracerPid'), '0');
    t.true(isAlive(capturePid) && isAlive(monitorPid));
  });
}

rootTest('a process of the scanlogd user cannot read the memory of either half (/proc/PID/mem refused)', async (t) => {
  const { daemon } = await startScene(t);
  const { capturePid, monitorPid } = await daemon.ready();
  for (const pid of [capturePid, monitorPid]) {
    const r = childProcess.spawnSync(
      'setpriv',
      ['--reuid=scanlogd', '--regid=scanlogd', '--clear-groups', '/usr/bin/python3', '-c', `open("/proc/${pid}/mem", "rb")`],
      { encoding: 'utf8' },
    );
    t.not(r.status, 0, `pid ${pid}: ${r.stderr}`);
    t.regex(r.stderr, /PermissionError/, `pid ${pid}`);
  }
});
