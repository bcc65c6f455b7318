// Which system calls each half makes once it is sandboxed, on the Node.js that runs
// this script: the daemon runs under strace through the situations its filters must
// survive (idle, nmap scans, floods, SIGUSR1, a syslog restart, --json, --ipv6 --udp,
// libpcap, SIGTERM, either half killed), and every call after a half installed its
// own filter is counted, with the arguments its rule looks at. The table says, for
// each rule of each half's policy, how often it was used and by which call, so that a
// rule no situation uses stands out; run it on each Node.js line (scripts/with-node.sh).
//
//   npm run build && node dist/bench/trace.js [--out FILE] [--keep DIR]   (as root, about a minute)
//
// --keep DIR keeps each situation's strace output there.

import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { createTestbed, runIn, sleep, waitFor, type Testbed } from '../harness/netns.js';
import { childrenOf, commandLine, entryScript, isAlive, readStatus, userIds } from '../harness/daemon.js';
import { listenSyslog, makeSocketDir, type SyslogListener } from '../harness/syslog.js';
import { buildGenerator, killStarted, runFlood, type FloodSpec } from '../harness/generator.js';
import { nodeOptions } from '../src/capture/runtime.js';
import { capturePlan } from '../src/capture/sandbox.js';
import { monitorPlan } from '../src/monitor/sandbox.js';
import type { SeccompRule } from '../src/types/procctl.js';

type Half = 'capture' | 'monitor';

/** What a situation does to the running daemon, given its processes. */
interface Situation {
  name: string;
  args(bed: Testbed, dir: string): string[];
  drive(ctx: { bed: Testbed; dir: string; capture: number; monitor: number; syslog: () => SyslogListener }): Promise<void>;
}

const nmap = (bed: Testbed, args: string[]): Promise<unknown> =>
  runIn(bed.scanner, 'nmap', ['-n', '-Pn', '--max-retries', '0', '--host-timeout', '30s', ...args], 60000);

const flood = (bed: Testbed, spec: Partial<FloodSpec>): Promise<unknown> =>
  runFlood(bed.scanner, {
    mode: 'syn',
    dst: bed.targetAddr,
    srcNet: '198.19.0.0/16',
    checksum: 'bad',
    rate: 20000,
    count: 60000,
    seconds: 10,
    seed: 5,
    ...spec,
  });

const signal = (pid: number, name: NodeJS.Signals): void => {
  if (isAlive(pid)) process.kill(pid, name);
};

const SITUATIONS: Situation[] = [
  {
    name: 'raw socket: idle, nmap, SYN flood, each half stopped and continued under a flood, SIGUSR1 to each half, syslog restart, SIGTERM',
    args: () => [],
    async drive({ bed, capture, monitor, syslog }) {
      await sleep(3000);
      await nmap(bed, ['-sS', '-p', '1-100', bed.targetAddr]);
      await flood(bed, {});
      for (const pid of [monitor, capture]) {
        signal(pid, 'SIGSTOP');
        await flood(bed, { count: 20000, seed: 6 });
        signal(pid, 'SIGCONT');
        await sleep(1000);
      }
      signal(capture, 'SIGUSR1');
      await sleep(500);
      signal(monitor, 'SIGUSR1');
      await sleep(500);
      syslog().close();
      await sleep(1500);
      syslog();
      await nmap(bed, ['-sS', '-p', '1-100', bed.targetAddr2]);
      await sleep(3000);
      signal(capture, 'SIGTERM');
    },
  },
  {
    name: '--json --ipv6 --udp --stats-interval 1 --pidfile: nmap -6, nmap -sU, UDP and IPv6 floods, SIGUSR1, SIGTERM',
    args: (bed, dir) => [
      '--json',
      path.join(dir, 'events.json'),
      '--ipv6',
      '--udp',
      '--stats-interval',
      '1',
      '--pidfile',
      path.join(dir, 'run', 'scanlogd.pid'),
    ],
    async drive({ bed, capture }) {
      await nmap(bed, ['-6', '-sS', '-p', '1-100', bed.targetAddr6]);
      await nmap(bed, ['-sU', '-p', '1-40', bed.targetAddr]);
      await flood(bed, { mode: 'udp' });
      await flood(bed, { dst: '', dst6: bed.targetAddr6, srcNet6: 'fd00:5d::', srcNet: undefined, count: 20000 });
      signal(capture, 'SIGUSR1');
      await sleep(2500);
      signal(capture, 'SIGTERM');
    },
  },
  {
    name: '--interface (libpcap) --ipv6 --udp: nmap, SYN flood, SIGUSR1, SIGTERM',
    args: (bed) => ['--interface', bed.targetDev, '--ipv6', '--udp'],
    async drive({ bed, capture }) {
      await nmap(bed, ['-sS', '-p', '1-100', bed.targetAddr]);
      await flood(bed, {});
      signal(capture, 'SIGUSR1');
      await sleep(500);
      signal(capture, 'SIGTERM');
    },
  },
  {
    name: 'the monitor killed: the capture process stops on its own',
    args: () => [],
    async drive({ monitor }) {
      await sleep(1000);
      signal(monitor, 'SIGKILL');
    },
  },
  {
    name: 'the capture process killed: the monitor stops on its own',
    args: () => [],
    async drive({ capture }) {
      await sleep(1000);
      signal(capture, 'SIGKILL');
    },
  },
];

/** A system call as the table keys it: the name, and the arguments its rule tests. */
function callKey(name: string, args: string[]): string {
  const arg = (i: number): string => (args[i] ?? '?').trim();
  switch (name) {
    case 'fcntl':
    case 'ioctl':
      return `${name}(_, ${arg(1)})`;
    case 'prctl':
      return `prctl(${arg(0)})`;
    case 'socket':
      return `socket(${arg(0)}, ${arg(1)})`;
    case 'kill':
      return `kill(_, ${arg(1)})`;
    case 'clone': {
      const flags = /flags=(0x[0-9a-f]+)/.exec(args.join(','))?.[1];
      return `clone(${flags !== undefined && (Number(flags) & 0x10000) !== 0 ? 'CLONE_THREAD' : flags})`;
    }
    default:
      return name;
  }
}

interface Trace {
  /** tgid of each thread seen. */
  tgid: Map<number, number>;
  /** Per half, each call after its filter: key -> [count, results seen]. */
  calls: Record<Half, Map<string, { count: number; results: Set<string> }>>;
}

/** Reads strace -f -X raw output: threads to processes, roles, and the calls after each half's own filter. */
function readTrace(text: string): Trace {
  const trace: Trace = { tgid: new Map(), calls: { capture: new Map(), monitor: new Map() } };
  const role = new Map<number, Half>();
  const sandboxed = new Set<number>();
  const pending = new Map<number, { name: string; args: string[] }>();
  /** Threads whose execve started a monitor. */
  const execs = new Map<number, Half>();
  let first: number | null = null;
  for (const line of text.split('\n')) {
    const m = /^(\d+) +(.*)$/.exec(line);
    if (m === null) continue;
    const tid = Number(m[1]);
    const rest = m[2] as string;
    if (first === null) {
      first = tid;
      trace.tgid.set(tid, tid);
      role.set(tid, 'capture');
    }
    let name: string;
    let args: string[];
    let result: string | null;
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    if (resumed !== null) {
      const started = pending.get(tid);
      pending.delete(tid);
      name = resumed[1] as string;
      args = started?.args ?? [];
      result = /\) += (.*)$/.exec(resumed[2] as string)?.[1] ?? null;
    } else {
      const call = /^(\w+)\((.*)$/.exec(rest);
      if (call === null) continue;
      name = call[1] as string;
      const body = call[2] as string;
      if (name === 'execve' && body.includes('"--role", "monitor"')) execs.set(tid, 'monitor');
      args = body
        .replace(/\) += .*$/, '')
        .replace(/ <unfinished \.\.\.>$/, '')
        .split(', ');
      if (body.endsWith('<unfinished ...>')) {
        pending.set(tid, { name, args });
        continue;
      }
      result = /\) += (.*)$/.exec(body)?.[1] ?? null;
    }
    const group = trace.tgid.get(tid) ?? tid;
    if (!trace.tgid.has(tid)) trace.tgid.set(tid, tid);
    const child = Number(/^(\d+)/.exec(result ?? '')?.[1] ?? 0);
    if (child > 0 && ['clone', 'clone3', 'fork', 'vfork'].includes(name)) {
      const flags = Number(/flags=(0x[0-9a-f]+)/.exec(args.join(','))?.[1] ?? 0);
      trace.tgid.set(child, (flags & 0x10000) !== 0 ? group : child);
    }
    if (name === 'execve' && execs.get(tid) === 'monitor' && result === '0') role.set(group, 'monitor');
    const half = role.get(group);
    if (half === undefined) continue;
    // The half's own filter is the long one (the start filter has a few instructions).
    if (name === 'seccomp' && Number(/len=(\d+)/.exec(args.join(','))?.[1] ?? 0) > 64) {
      sandboxed.add(group);
      continue;
    }
    if (!sandboxed.has(group)) continue;
    const key = callKey(name, args);
    const entry = trace.calls[half].get(key) ?? { count: 0, results: new Set<string>() };
    entry.count++;
    const error = /^-1 (E[A-Z]+)/.exec(result ?? '')?.[1];
    if (error !== undefined) entry.results.add(error);
    trace.calls[half].set(key, entry);
  }
  return trace;
}

/** Runs one situation under strace; returns the trace's text. */
async function traceSituation(bed: Testbed, situation: Situation, out: string): Promise<void> {
  const dir = makeSocketDir();
  const { uid, gid } = userIds('scanlogd');
  fs.mkdirSync(path.join(dir, 'run'));
  fs.chownSync(path.join(dir, 'run'), uid, gid);
  let listener = listenSyslog(path.join(dir, 'log'));
  const syslog = (): SyslogListener => {
    if (!fs.existsSync(listener.path)) listener = listenSyslog(path.join(dir, 'log'));
    return listener;
  };
  const args = ['--foreground', '--syslog-socket', listener.path, ...situation.args(bed, dir)];
  const strace = childProcess.spawn(
    'ip',
    [
      'netns',
      'exec',
      bed.target,
      'strace',
      '-f',
      '-qq',
      '-X',
      'raw',
      '-s',
      '24',
      '-o',
      out,
      process.execPath,
      ...nodeOptions(),
      entryScript(),
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  strace.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise<void>((resolve) => strace.on('exit', () => resolve()));
  try {
    const scanlogd = userIds('scanlogd').uid;
    const { capture, monitor } = await waitFor(
      `the traced daemon to start (${stderr})`,
      () => {
        const capture = childrenOf(strace.pid as number)[0];
        const monitor = capture === undefined ? undefined : childrenOf(capture)[0];
        if (capture === undefined || monitor === undefined || readStatus(capture)?.uid[0] !== scanlogd) return undefined;
        return commandLine(capture) === 'scanlogd' && commandLine(monitor) === 'scanlogd-monitor' ? { capture, monitor } : undefined;
      },
      60000,
      100,
    );
    await situation.drive({ bed, dir, capture, monitor, syslog });
    await Promise.race([ended, sleep(10000)]);
    if (isAlive(capture)) throw new Error(`${situation.name}: the daemon did not stop\n${stderr}`);
  } finally {
    if (strace.exitCode === null) strace.kill('SIGKILL');
    await ended;
    listener.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (/SIGSYS/.test(fs.readFileSync(out, 'utf8')))
    process.stderr.write(`trace: ${situation.name}: a half was killed by SIGSYS (see ${out})\n`);
}

/** Which rule of `rules` a call key falls under (the first that names the call). */
function ruleOf(rules: SeccompRule[], key: string): number {
  const name = /^\w+/.exec(key)?.[0] ?? key;
  return rules.findIndex((r) => r.syscall === name);
}

async function main(): Promise<void> {
  const keepIndex = process.argv.indexOf('--keep');
  const keep = keepIndex > 0 ? process.argv[keepIndex + 1] : undefined;
  const outIndex = process.argv.indexOf('--out');
  const out =
    outIndex > 0 ? (process.argv[outIndex + 1] as string) : path.join('bench', 'results', `trace-node${process.versions.node}.txt`);
  if (process.getuid?.() !== 0) throw new Error('run as root: the daemon starts as root');
  buildGenerator();
  const bed = createTestbed({ ipv6: true });
  const totals: Record<Half, Map<string, { count: number; results: Set<string> }>> = { capture: new Map(), monitor: new Map() };
  const work = fs.mkdtempSync('/tmp/scanlogd-trace-');
  try {
    for (const [i, situation] of SITUATIONS.entries()) {
      process.stderr.write(`trace: ${situation.name}\n`);
      const file = path.join(work, `situation${i}.strace`);
      await traceSituation(bed, situation, file);
      const trace = readTrace(fs.readFileSync(file, 'utf8'));
      for (const half of ['capture', 'monitor'] as const) {
        for (const [key, entry] of trace.calls[half]) {
          const total = totals[half].get(key) ?? { count: 0, results: new Set<string>() };
          total.count += entry.count;
          entry.results.forEach((r) => total.results.add(r));
          totals[half].set(key, total);
        }
      }
    }
  } finally {
    killStarted();
    bed.destroy();
    if (keep === undefined) fs.rmSync(work, { recursive: true, force: true });
    else fs.renameSync(work, keep);
  }

  const policies: Record<Half, SeccompRule[]> = {
    capture: capturePlan([5], process.pid, process.pid + 1).rules,
    monitor: monitorPlan(process.pid).rules,
  };
  const lines = [`Node.js ${process.version} (libuv ${process.versions.uv}); situations: ${SITUATIONS.map((s) => s.name).join('; ')}`];
  for (const half of ['capture', 'monitor'] as const) {
    const rules = policies[half];
    const used = new Map<number, string[]>();
    const unnamed: string[] = [];
    for (const [key, { count, results }] of [...totals[half]].sort((a, b) => b[1].count - a[1].count)) {
      const text = `${key} x${count}${results.size > 0 ? ` (${[...results].join(' ')})` : ''}`;
      const rule = ruleOf(rules, key);
      if (rule < 0) unnamed.push(text);
      else used.set(rule, [...(used.get(rule) ?? []), text]);
    }
    lines.push('', `${half}: ${totals[half].size} distinct calls after its filter`);
    for (const [i, rule] of rules.entries()) {
      const first = ruleOf(rules, rule.syscall);
      if (first !== i) lines.push(`  ------ ${rule.syscall}: decided by the earlier rule for it`);
      else lines.push(`  ${used.has(i) ? 'used  ' : 'UNUSED'} ${rule.syscall}: ${(used.get(i) ?? []).join('; ')}`);
    }
    for (const text of unnamed) lines.push(`  NOT IN POLICY ${text}`);
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${lines.join('\n')}\n`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  killStarted();
  process.stderr.write(`trace: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
