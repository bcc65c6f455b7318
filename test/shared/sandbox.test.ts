// The sandbox policies against the real kernel: each case runs a Node process that
// puts itself into a half's sandbox (as the daemon does, minus the rest of the daemon)
// and then tries things. seccomp needs no privileges once no_new_privs is set, so
// these run as any user.

import test from 'ava';
import childProcess = require('node:child_process');
import os = require('node:os');
import path = require('node:path');
import { Action, DENY, nodeRuntime } from '../../src/shared/sandbox.js';
import { capturePlan } from '../../src/capture/sandbox.js';
import { monitorPlan } from '../../src/monitor/sandbox.js';
import { underStartFilter } from '../../harness/startfilter.js';

const DIST = path.resolve(__dirname, '..', '..', 'src');

/**
 * Runs `body` (JavaScript) in a fresh Node process after it entered `role`'s sandbox.
 * `body` prints what it observed; the result is its output and how it ended.
 */
function inSandbox(
  role: 'capture' | 'monitor',
  body: string,
): { stdout: string; stderr: string; status: number | null; signal: string | null } {
  const enter =
    role === 'capture'
      ? `require(${JSON.stringify(path.join(DIST, 'capture', 'sandbox.js'))}).capturePlan([fd], process.pid, process.ppid)`
      : `require(${JSON.stringify(path.join(DIST, 'monitor', 'sandbox.js'))}).monitorPlan(process.pid)`;
  const script = `
    const fs = require('node:fs');
    const sandbox = require(${JSON.stringify(path.join(DIST, 'shared', 'sandbox.js'))});
    const procctl = require(${JSON.stringify(path.join(DIST, 'shared', 'procctl.js'))}).loadProcCtl();
    const net = require('node:net');
    // A stand-in for a capture socket: a descriptor the capture policy must not write to.
    const fd = fs.openSync('/dev/null', 'w');
    // The resolver starts before the filter, as in the daemon, whose channel is a socket
    // made before it: c-ares reads resolv.conf and insists on randomness when it starts.
    require('node:dns').getServers();
    procctl.noNewPrivs();
    sandbox.warmUpNode();
    const layers = sandbox.enterSandbox(${enter}, procctl);
    console.log('entered', layers.seccompRules > 0, procctl.state().seccomp);
    const tryIt = (what, fn) => { try { fn(); console.log(what, 'ok'); } catch (err) { console.log(what, err.code); } };
    ${body}
  `;
  const r = childProcess.spawnSync(process.execPath, underStartFilter(['-e', script]), { encoding: 'utf8', timeout: 20000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, signal: r.signal };
}

test('every system call the policies name is known to the filter compiler', (t) => {
  // Compiled in a child: installing it here would sandbox the test runner.
  const r = childProcess.spawnSync(
    process.execPath,
    underStartFilter([
      '-e',
      `
    const procctl = require(${JSON.stringify(path.join(DIST, 'shared', 'procctl.js'))}).loadProcCtl();
    procctl.noNewPrivs();
    const plans = [${JSON.stringify(capturePlan([5, 6], 1, 2).rules)}, ${JSON.stringify(monitorPlan(1, [6], 5).rules)}];
    for (const rules of plans) console.log(require(${JSON.stringify(path.join(DIST, 'shared', 'sandbox.js'))}).installFilter(rules, ${Action.allow}, procctl));
  `,
    ]),
    { encoding: 'utf8' },
  );
  t.is(r.status, 0, r.stderr);
  const counts = r.stdout.trim().split('\n').map(Number);
  // A call named twice counts once: its first rule is the one that holds.
  const calls = (rules: Array<{ syscall: string }>): number => new Set(rules.map((rule) => rule.syscall)).size;
  const sizes = [calls(capturePlan([5, 6], 1, 2).rules), calls(monitorPlan(1, [6], 5).rules)];
  // Every name exists on x86_64; elsewhere a call the architecture lacks is left out.
  if (process.arch === 'x64') t.deepEqual(counts, sizes);
  else counts.forEach((count, i) => t.true(count > 0 && count <= (sizes[i] as number), `${count} of ${sizes[i]} rules`));
});

test('an unknown system call name is refused with its name, and nothing is installed', (t) => {
  const r = childProcess.spawnSync(
    process.execPath,
    [
      '-e',
      `
    const procctl = require(${JSON.stringify(path.join(DIST, 'shared', 'procctl.js'))}).loadProcCtl();
    procctl.noNewPrivs();
    try { require(${JSON.stringify(path.join(DIST, 'shared', 'sandbox.js'))}).installFilter([{ syscall: 'no_such_call', clauses: [], otherwise: ${Action.allow} }], ${Action.allow}, procctl); }
    catch (err) { console.log(err.message); }
    console.log('seccomp', procctl.state().seccomp);
  `,
    ],
    { encoding: 'utf8' },
  );
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /unknown system call no_such_call/);
  t.regex(r.stdout, /seccomp 0/);
});

test('a policy too long for the kernel is refused with a clear error, and nothing is installed', (t) => {
  const r = childProcess.spawnSync(
    process.execPath,
    [
      '-e',
      `
    const procctl = require(${JSON.stringify(path.join(DIST, 'shared', 'procctl.js'))}).loadProcCtl();
    procctl.noNewPrivs();
    // Three thousand pids kill may signal: each needs its own comparison.
    const pids = Array.from({ length: 3000 }, (_, i) => 1000 + 7 * i);
    const rule = { syscall: 'kill', clauses: [{ when: [{ arg: 0, values: pids }], action: ${Action.allow} }], otherwise: ${DENY} };
    try { require(${JSON.stringify(path.join(DIST, 'shared', 'sandbox.js'))}).installFilter([rule], ${Action.allow}, procctl); console.log('installed'); }
    catch (err) { console.log(err.message); }
    console.log('seccomp', procctl.state().seccomp);
  `,
    ],
    { encoding: 'utf8' },
  );
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /program longer than 4096 instructions/);
  t.regex(r.stdout, /seccomp 0/);
});

test('clauses: every condition of a clause must hold, the first clause that holds decides, a mask keeps only its bits', (t) => {
  // kill(pid, 0) to pids that do not exist: two arguments the filter can read.
  const r = childProcess.spawnSync(
    process.execPath,
    [
      '-e',
      `
    const procctl = require(${JSON.stringify(path.join(DIST, 'shared', 'procctl.js'))}).loadProcCtl();
    procctl.noNewPrivs();
    const deny = (errno) => 0x00050000 | errno;
    require(${JSON.stringify(path.join(DIST, 'shared', 'sandbox.js'))}).installFilter([{ syscall: 'kill', clauses: [
      { when: [{ arg: 1, values: [0] }, { arg: 0, values: [0x7ff001, 0x7ff002] }], action: deny(11) },
      { when: [{ arg: 0, mask: 0xffff00, values: [0x7ff100] }], action: deny(12) },
    ], otherwise: deny(13) }], ${Action.allow}, procctl);
    for (const pid of [0x7ff001, 0x7ff002, 0x7ff003, 0x7ff105, 0x7ff205]) {
      try { process.kill(pid, 0); console.log(pid.toString(16), 'allowed'); } catch (err) { console.log(pid.toString(16), err.errno); }
    }
  `,
    ],
    { encoding: 'utf8' },
  );
  t.is(r.status, 0, r.stderr);
  // Both conditions hold: 11. Then the next clause's mask (0x7ff003 & 0xffff00 = 0x7ff000): 13.
  t.is(r.stdout.trim(), ['7ff001 -11', '7ff002 -11', '7ff003 -13', '7ff105 -12', '7ff205 -13'].join('\n'));
});

test('the rules both halves share name none of the calls that must kill (ptrace, execve, mount, id changes...)', (t) => {
  const names = new Set(nodeRuntime(1, []).map((rule) => rule.syscall));
  for (const forbidden of [
    'ptrace',
    'execve',
    'execveat',
    'process_vm_readv',
    'process_vm_writev',
    'pidfd_getfd',
    'mount',
    'chroot',
    'setuid',
    'setresuid',
    'setgroups',
    'unshare',
    'setns',
    'bpf',
    'memfd_create',
  ]) {
    t.false(names.has(forbidden), `${forbidden} is named (it must fall to the default: kill)`);
  }
});

test('neither policy can pass a descriptor (sendmsg, sendmmsg refused); the monitor names no call that renames, links, truncates or writes a file at an offset', (t) => {
  const plans = { capture: capturePlan([5, 6], 1, 2).rules, monitor: monitorPlan(1, [6], 5).rules };
  for (const [half, rules] of Object.entries(plans)) {
    for (const call of ['sendmsg', 'sendmmsg']) {
      const rule = rules.find((r) => r.syscall === call);
      t.deepEqual(rule && { clauses: rule.clauses, otherwise: rule.otherwise }, { clauses: [], otherwise: DENY }, `${half}: ${call}`);
    }
  }
  const named = new Set(plans.monitor.map((rule) => rule.syscall));
  for (const call of [
    'rename',
    'renameat',
    'renameat2',
    'link',
    'linkat',
    'symlink',
    'symlinkat',
    'rmdir',
    'mkdir',
    'mkdirat',
    'mknod',
    'mknodat',
    'truncate',
    'ftruncate',
    'lseek',
    'pwrite64',
    'pwritev',
    'pwritev2',
    'fallocate',
    'copy_file_range',
    'sendfile',
  ])
    t.false(named.has(call), `${call} is named (it must fall to the default: kill)`);
});

test('capture sandbox: the process runs on; no socket, no file, no write to a capture descriptor, no spawn (EPERM)', (t) => {
  const r = inSandbox(
    'capture',
    `
    // An address, not a name: no resolver starts (c-ares would want randomness first).
    net.createServer().on('error', (err) => console.log('tcp', err.code)).listen(0, '127.0.0.1');
    tryIt('open', () => fs.openSync('/etc/hostname', 'r'));
    tryIt('write capture fd', () => fs.writeSync(fd, 'x'));
    tryIt('write stdout', () => fs.writeSync(1, 'stdout\\n'));
    tryIt('spawn', () => { const c = require('node:child_process').spawnSync('/bin/true'); if (c.error) throw c.error; });
    setTimeout(() => console.log('timers run, process alive'), 20);
  `,
  );
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^entered true 2$/m);
  t.regex(r.stdout, /^open EPERM$/m);
  t.regex(r.stdout, /^write capture fd EPERM$/m);
  t.regex(r.stdout, /^stdout$/m);
  t.regex(r.stdout, /^spawn EPERM$/m);
  t.regex(r.stdout, /^timers run, process alive$/m);
  t.regex(r.stdout, /^tcp EPERM$/m);
});

test("monitor sandbox: writes to its descriptors and Node's thread pool work; files and Internet sockets do not (EPERM)", (t) => {
  const r = inSandbox(
    'monitor',
    `
    tryIt('open', () => fs.openSync('/etc/hostname', 'r'));
    tryIt('create', () => fs.openSync('/tmp/scanlogd-sandbox-test', 'w'));
    const c = net.connect(9, '127.0.0.1');
    c.on('error', (err) => console.log('tcp', err.code));
    tryIt('write fd', () => fs.writeSync(fd, 'x'));
    // Node's threads still start (the libuv pool, on first use): clone with CLONE_THREAD.
    require('node:crypto').pbkdf2('x', 'y', 1000, 16, 'sha256', (err) => console.log('pool', err === null ? 'ok' : err.code));
    setTimeout(() => console.log('timers run, process alive'), 50);
  `,
  );
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^entered true 2$/m);
  t.regex(r.stdout, /^open EPERM$/m);
  t.regex(r.stdout, /^create EPERM$/m);
  t.regex(r.stdout, /^tcp EPERM$/m);
  t.regex(r.stdout, /^write fd ok$/m);
  t.regex(r.stdout, /^pool ok$/m);
  t.regex(r.stdout, /^timers run, process alive$/m);
});

test('a call outside the allowlist kills the process with SIGSYS', (t) => {
  const r = inSandbox(
    'monitor',
    `
    console.log('before');
    // mkdir is named by no rule.
    fs.mkdirSync('/tmp/scanlogd-sandbox-test-dir-' + process.pid);
    console.log('after');
  `,
  );
  t.is(r.signal, 'SIGSYS');
  t.regex(r.stdout, /^before$/m);
  t.notRegex(r.stdout, /^after$/m);
});

/**
 * The io_uring descriptors of a Node process started by one that ran `prelude` first; with
 * `startFilter`, that one runs from a fresh image under the start filter, as the daemon does.
 */
function ringsOf(prelude: string, startFilter = false): { rings: number; stdout: string; stderr: string } {
  const child = `
    const fs = require('node:fs');
    setTimeout(() => {
      const rings = fs.readdirSync('/proc/self/fd').filter((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd) === 'anon_inode:[io_uring]'; } catch { return false; } });
      console.log('rings', rings.length);
    }, 50);
  `;
  const script = `
    ${prelude}
    const r = require('node:child_process').spawnSync(process.execPath, ['-e', ${JSON.stringify(child)}], { encoding: 'utf8' });
    process.stdout.write(r.stdout + r.stderr);
  `;
  const args = startFilter ? underStartFilter(['-e', script]) : ['-e', script];
  const r = childProcess.spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 20000 });
  return { rings: Number(/^rings (\d+)$/m.exec(r.stdout)?.[1] ?? -1), stdout: r.stdout, stderr: r.stderr };
}

const uv = process.versions.uv.split('.').map(Number) as [number, number, number];
/** libuv 1.49 and later set up an io_uring for every loop, whatever UV_USE_IO_URING says. */
const uvMakesRings = uv[0] > 1 || uv[1] >= 49;

test(`start filter: a runtime started under it sets up no io_uring (here ${process.version}, libuv ${process.versions.uv}), and cannot listen`, (t) => {
  const SHARED = JSON.stringify(path.join(DIST, 'shared', 'sandbox.js'));
  const PROCCTL = JSON.stringify(path.join(DIST, 'shared', 'procctl.js'));
  const plain = ringsOf('');
  t.log(`without the start filter: ${plain.rings} rings`);
  if (uvMakesRings)
    t.true(plain.rings > 0, `libuv ${process.versions.uv} makes rings: the check below can fail\n${plain.stdout}${plain.stderr}`);
  else t.is(plain.rings, 0, plain.stdout + plain.stderr);

  const filtered = ringsOf(
    `
    const procctl = require(${PROCCTL}).loadProcCtl();
    console.log('errno', procctl.refusal('io_uring_setup'), procctl.refusal('listen'));
    require(${SHARED}).confirmStartFilter('test', procctl);
    console.log('confirmed');
    require('node:net').createServer().on('error', (err) => console.log('listen', err.code)).listen(0, '127.0.0.1');
  `,
    true,
  );
  t.is(filtered.rings, 0, filtered.stdout + filtered.stderr);
  t.regex(filtered.stdout, new RegExp(`^errno ${os.constants.errno.ENOSYS} ${os.constants.errno.EPERM}$`, 'm'));
  t.regex(filtered.stdout, /^confirmed$/m);
  t.regex(filtered.stdout, /^listen EPERM$/m);
});

test('start filter: a process without it is told so by the check both halves make', (t) => {
  const r = childProcess.spawnSync(
    process.execPath,
    ['-e', `require(${JSON.stringify(path.join(DIST, 'shared', 'sandbox.js'))}).confirmStartFilter('monitor')`],
    { encoding: 'utf8' },
  );
  t.is(r.status, 1);
  t.regex(r.stderr, /monitor: not under the start filter \(io_uring_setup answers EFAULT, listen EBADF\)/);
});

test('the monitor with --slow-scans: pread on the socket tables it was handed, on no other descriptor; still no open', (t) => {
  const r = childProcess.spawnSync(
    process.execPath,
    underStartFilter([
      '-e',
      `
    const fs = require('node:fs');
    const sandbox = require(${JSON.stringify(path.join(DIST, 'shared', 'sandbox.js'))});
    const procctl = require(${JSON.stringify(path.join(DIST, 'shared', 'procctl.js'))}).loadProcCtl();
    const table = fs.openSync('/proc/self/net/tcp', 'r');
    const other = fs.openSync('/proc/self/net/udp', 'r');
    procctl.noNewPrivs();
    sandbox.warmUpNode();
    sandbox.enterSandbox(require(${JSON.stringify(path.join(DIST, 'monitor', 'sandbox.js'))}).monitorPlan(process.pid, [table]), procctl);
    const buf = Buffer.alloc(4096);
    const tryIt = (what, fn) => { try { fn(); console.log(what, 'ok'); } catch (err) { console.log(what, err.code); } };
    tryIt('pread table', () => { if (!fs.readSync(table, buf, 0, buf.length, 0)) throw new Error('empty'); });
    tryIt('pread again', () => fs.readSync(table, buf, 0, buf.length, 0));
    tryIt('pread other', () => fs.readSync(other, buf, 0, buf.length, 0));
    tryIt('open', () => fs.openSync('/proc/self/net/tcp6', 'r'));
  `,
    ]),
    { encoding: 'utf8', timeout: 20000 },
  );
  t.is(r.status, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n'), ['pread table ok', 'pread again ok', 'pread other EPERM', 'open EPERM']);
});
