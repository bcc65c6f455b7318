// The system-call injector against plain processes: what a call returns comes back,
// the thread runs on as before (a blocked read goes on, timers fire), a thread busy in
// user space is served through its C library, and a death by signal is reported.

import test from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { cString, injectCalls, passing, syscall } from '../../harness/inject.js';
import { catchDescriptors, sockaddrUn } from '../../harness/fdcatcher.js';
import { isAlive } from '../../harness/daemon.js';
import { waitFor } from '../../harness/netns.js';

const haveCompiler = fs.existsSync('/usr/bin/gcc');
const gccTest = haveCompiler ? test.serial : test.serial.skip;
if (!haveCompiler) console.log('injector tests skipped: they need gcc');

const PROCCTL = path.resolve(__dirname, '..', '..', 'src', 'shared', 'procctl.js');
const SECCOMP_RET_KILL_PROCESS = 0x80000000;
const SECCOMP_RET_ALLOW = 0x7fff0000;

/** Resolves with the output a child wrote until it ended, and how it ended. */
function collect(child: childProcess.ChildProcess): { text: () => string; ended: Promise<{ code: number | null; signal: string | null }> } {
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  // 'close', not 'exit': Node may report the exit before it has read the last output.
  // libuv reaps children when it handles SIGCHLD, after the other descriptors of the same
  // turn of its loop; a SIGCHLD still queued from an earlier child (the injector's own)
  // can reap the child in the turn whose stdin shutdown let it write its last line and
  // exit, and that line is read only in the next turn.
  const ended = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { text: () => text, ended };
}

/** System call numbers, for the architectures the injector builds on. */
const SYSCALL_NUMBERS: Partial<Record<string, { read: number; clock_nanosleep: number }>> = {
  x64: { read: 0, clock_nanosleep: 230 },
  arm64: { read: 63, clock_nanosleep: 115 },
};

/**
 * Until the main thread of `pid` sleeps in system call `call`. /proc/PID/syscall alone
 * also names a call that the thread is still entering or leaving (preempted there on a
 * busy machine, or in an earlier call of its start-up), so its state must say asleep.
 */
async function blockedIn(pid: number, call: 'read' | 'clock_nanosleep'): Promise<void> {
  const nr = SYSCALL_NUMBERS[process.arch]?.[call];
  if (nr === undefined) throw new Error(`no system call numbers for ${process.arch}`);
  await waitFor(`process ${pid} to sleep in ${call}`, () => {
    const current = fs.readFileSync(`/proc/${pid}/syscall`, 'utf8').split(' ')[0];
    const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return current === String(nr) && state === 'S' ? true : undefined;
  });
}

gccTest('a thread blocked in a read: calls run on its own instruction, results and errors come back, the read goes on after', async (t) => {
  const cat = childProcess.spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
  const out = collect(cat);
  t.teardown(() => cat.kill('SIGKILL'));
  const pid = cat.pid as number;
  await blockedIn(pid, 'read');
  const inside = injectCalls(pid, [
    syscall('getpid'),
    syscall('write', 1, Buffer.from('from inside\n'), 12),
    syscall('write', 99, Buffer.from('x'), 1),
    syscall('openat', -100, cString('/nonexistent/file'), 0),
  ]);
  t.is(inside.via, 'own', inside.output);
  t.deepEqual(inside.ending, { kind: 'detached' });
  t.deepEqual(
    inside.results.map((r) => [r.call.name, r.value, r.errno]),
    [
      ['getpid', pid, null],
      ['write', 12, null],
      ['write', -9, 'EBADF'],
      ['openat', -2, 'ENOENT'],
    ],
  );
  // The read it was blocked in is restarted with its own arguments, not ours.
  cat.stdin.end('after\n');
  t.deepEqual(await out.ended, { code: 0, signal: null });
  t.is(out.text(), 'from inside\nafter\n');
});

gccTest('a message passing a descriptor: sendmsg and sendmmsg carry it (SCM_RIGHTS) to a socket another user bound', async (t) => {
  const cat = childProcess.spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
  t.teardown(() => cat.kill('SIGKILL'));
  const pid = cat.pid as number;
  const catcher = await catchDescriptors(65534, 65534);
  t.teardown(() => catcher.close());
  await blockedIn(pid, 'read');
  const made = injectCalls(pid, [syscall('socket', 1, 2, 0)]);
  const fd = made.results[0]?.value ?? -1;
  t.true(fd > 2, made.output);
  const { address, length } = sockaddrUn(catcher.path);
  const inside = injectCalls(pid, [
    syscall('connect', fd, address, length),
    syscall('sendmsg', fd, passing(1), 0),
    syscall('sendmmsg', fd, passing(1), 1, 0),
    syscall('close', fd),
  ]);
  t.deepEqual(
    inside.results.map((r) => r.value),
    [0, 1, 1, 0],
    inside.output,
  );
  const pipe = fs.readlinkSync(`/proc/${pid}/fd/1`);
  await waitFor('both messages', () => (catcher.received().length === 2 ? true : undefined), 3000);
  t.deepEqual(catcher.received(), [
    { data: Buffer.from('x'), descriptors: [pipe] },
    { data: Buffer.from('x'), descriptors: [pipe] },
  ]);
});

gccTest('a thread busy in user space: calls run on a syscall instruction of its C library, and it keeps running', async (t) => {
  const busy = childProcess.spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
  t.teardown(() => busy.kill('SIGKILL'));
  const pid = busy.pid as number;
  const ticks = (): number => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[11]);
  // Running is not enough: just after the exec it runs in the dynamic loader, before the C
  // library is mapped. Some CPU time spent says it is in the loop.
  await waitFor('the loop to run', () =>
    fs.readFileSync(`/proc/${pid}/syscall`, 'utf8').startsWith('running') && ticks() >= 5 ? true : undefined,
  );
  for (let i = 0; i < 20; i++) {
    const inside = injectCalls(pid, [syscall('getpid'), syscall('kill', pid, 0)]);
    t.is(inside.via, 'libc', inside.output);
    t.deepEqual(inside.ending, { kind: 'detached' });
    t.deepEqual(
      inside.results.map((r) => r.value),
      [pid, 0],
    );
  }
  const before = ticks();
  await waitFor('the loop to use more CPU time', () => (ticks() > before + 10 ? true : undefined));
  t.true(isAlive(pid), 'still running, not stopped or killed by a stray trap');
});

gccTest(
  'a Node process under a seccomp filter: it runs on after the calls; a call the filter kills for is reported as SIGSYS',
  async (t) => {
    // setuid kills, everything else is allowed; the timer shows the process still runs.
    const script = `
    const procctl = require(${JSON.stringify(PROCCTL)}).loadProcCtl();
    procctl.noNewPrivs();
    procctl.seccomp([{ syscall: 'setuid', action: ${SECCOMP_RET_KILL_PROCESS}, when: [] }], ${SECCOMP_RET_ALLOW});
    setInterval(() => process.stdout.write('tick\\n'), 20);
  `;
    const node = childProcess.spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const out = collect(node);
    t.teardown(() => node.kill('SIGKILL'));
    const pid = node.pid as number;
    await waitFor('the first tick', () => (out.text().includes('tick') ? true : undefined));
    const first = injectCalls(pid, [syscall('getpid'), syscall('kill', pid, 0)]);
    t.deepEqual(first.ending, { kind: 'detached' });
    t.deepEqual(
      first.results.map((r) => r.value),
      [pid, 0],
    );
    const ticksThen = out.text().length;
    await waitFor('more ticks after the calls', () => (out.text().length > ticksThen + 10 ? true : undefined));
    const fatal = injectCalls(pid, [syscall('getpid'), syscall('setuid', 0), syscall('getpid')]);
    t.deepEqual(fatal.ending, { kind: 'killed', during: 1, signal: 'SIGSYS' }, fatal.output);
    t.is(fatal.results.length, 1);
    t.is((await out.ended).signal, 'SIGSYS');
  },
);

gccTest('a successful execve is reported as such and the new program runs untouched', async (t) => {
  const sleeper = childProcess.spawn('sleep', ['30'], { stdio: 'ignore' });
  const out = collect(sleeper);
  t.teardown(() => sleeper.kill('SIGKILL'));
  const pid = sleeper.pid as number;
  await blockedIn(pid, 'clock_nanosleep');
  const inside = injectCalls(pid, [syscall('execve', cString('/bin/true'), 0, 0), syscall('getpid')]);
  t.deepEqual(inside.ending, { kind: 'replaced', during: 0 });
  t.deepEqual(await out.ended, { code: 0, signal: null });
});

gccTest('a thread that does not exist: the injection throws', (t) => {
  const gone = childProcess.spawnSync('true');
  t.throws(() => injectCalls(gone.pid, [syscall('getpid')]), { message: /could not make the calls/ });
});
