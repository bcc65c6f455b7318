// What each half's seccomp filter costs per system call, libseccomp's program against
// the one the hand-written compiler made before it, in one run: each half's policy is
// installed by a Node.js process through this tree's addon and through a baseline
// build's, and read back from the kernel; then a small C program (bench/filter/
// filterbench.c) installs each program and times calls under it, the variants
// alternating. Root (the programs are read back with ptrace).
//
//   git archive <commit> native binding.gyp | tar -x -C /tmp/base && (cd /tmp/base && node-gyp rebuild)
//   npm run bench:filter -- --baseline-addon /tmp/base/build/Release/procctl.node

import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { compileC } from '../harness/compile.js';
import { Action } from '../src/shared/sandbox.js';
import { capturePlan } from '../src/capture/sandbox.js';
import { monitorPlan } from '../src/monitor/sandbox.js';
import { median } from './stats.js';
import { underStartFilter } from '../harness/startfilter.js';

const REPO = path.resolve(__dirname, '..', '..');
const SOURCE = path.join(REPO, 'bench', 'filter', 'filterbench.c');
const BINARY = path.join(REPO, 'dist', 'bench', 'filterbench');
const SRC = path.join(REPO, 'dist', 'src');

interface Options {
  baselineAddon: string;
  calls: number;
  reps: number;
}

function parse(argv: string[]): Options {
  const o: Partial<Options> = { calls: 200_000, reps: 5 };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (name === '--baseline-addon' && value !== undefined) o.baselineAddon = path.resolve(value);
    else if (name === '--calls' && value !== undefined) o.calls = Math.min(10_000_000, Math.max(1000, Number(value)));
    else if (name === '--reps' && value !== undefined) o.reps = Math.min(15, Math.max(1, Number(value)));
    else {
      process.stderr.write('usage: node dist/bench/filter.js --baseline-addon PROCCTL_NODE [--calls N] [--reps N]\n');
      process.exit(2);
    }
  }
  if (o.baselineAddon === undefined || !fs.existsSync(o.baselineAddon)) {
    process.stderr.write('bench:filter: --baseline-addon must name the procctl.node of a baseline build\n');
    process.exit(2);
  }
  return o as Options;
}

async function waitReady(child: childProcess.ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the filter did not install in 20 s')), 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code, signal) => reject(new Error(`the process installing the filter ended (${code ?? signal})`)));
  });
}

/**
 * The program a Node.js process installs for `rules` (the policy's shape, which both
 * compilers take), read back from the kernel while the process waits under it.
 */
async function readBack(addon: string | null, rules: unknown): Promise<Buffer> {
  const install =
    addon === null
      ? `require(${JSON.stringify(path.join(SRC, 'shared', 'sandbox.js'))}).installFilter(rules, ${Action.killProcess}, procctl)`
      : `procctl.seccomp(rules, ${Action.killProcess})`;
  const load =
    addon === null
      ? `require(${JSON.stringify(path.join(SRC, 'shared', 'procctl.js'))}).loadProcCtl()`
      : `require(${JSON.stringify(addon)})`;
  const script = `
    const procctl = ${load};
    const rules = ${JSON.stringify(rules)};
    procctl.noNewPrivs();
    require(${JSON.stringify(path.join(SRC, 'shared', 'sandbox.js'))}).warmUpNode();
    ${install};
    process.stdout.write('ready\\n');
    setInterval(() => {}, 60000);
  `;
  // As the halves run: from a fresh image under the start filter.
  const child = childProcess.spawn(process.execPath, underStartFilter(['-e', script]), { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await waitReady(child);
    // The newest filter: the policy's, after the start filter.
    const filters = Number(/^Seccomp_filters:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
    return childProcess.execFileSync(BINARY, ['dump', String(child.pid), String(filters - 1)], { maxBuffer: 1 << 20 });
  } finally {
    child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  compileC(SOURCE, BINARY, 'filter benchmark');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scanlogd-filter-'));
  // The calls each half's policy allows: the capture process reads with recvmmsg, the monitor never does.
  const halves = [
    { half: 'capture', rules: capturePlan([5, 6], 100, 101).rules, calls: ['getpid', 'write', 'fcntl', 'recvmmsg'] },
    { half: 'monitor', rules: monitorPlan(100, [6], 5).rules, calls: ['getpid', 'write', 'fcntl'] },
  ];
  const results: Array<{ half: string; variant: string; call: string; ns: number }> = [];
  try {
    for (const h of halves) {
      const programs = { libseccomp: await readBack(null, h.rules), 'hand-written': await readBack(options.baselineAddon, h.rules) };
      for (const [variant, program] of Object.entries(programs)) {
        fs.writeFileSync(path.join(dir, `${h.half}-${variant}.bpf`), program);
        process.stdout.write(`${h.half} ${variant}: ${program.length / 8} instructions\n`);
      }
      const variants = [
        { variant: 'no filter', file: '-' },
        { variant: 'hand-written', file: path.join(dir, `${h.half}-hand-written.bpf`) },
        { variant: 'libseccomp', file: path.join(dir, `${h.half}-libseccomp.bpf`) },
      ];
      for (let rep = 0; rep < options.reps; rep++) {
        const order = rep % 2 === 0 ? variants : [...variants].reverse();
        for (const v of order) {
          const out = childProcess.execFileSync(BINARY, ['run', v.file, String(options.calls), ...h.calls], { encoding: 'utf8' });
          for (const line of out.trim().split('\n')) {
            const [call, ns] = line.split(' ');
            results.push({ half: h.half, variant: v.variant, call: call as string, ns: Number(ns) });
          }
        }
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`\nns per call, median of ${options.reps} runs of ${options.calls} calls, variants alternating\n`);
  process.stdout.write(
    `${'half'.padEnd(8)} ${'call'.padEnd(9)} ${'no filter'.padStart(10)} ${'hand-written'.padStart(13)} ${'libseccomp'.padStart(11)}\n`,
  );
  for (const h of halves)
    for (const call of h.calls) {
      const at = (variant: string): string =>
        median(results.filter((r) => r.half === h.half && r.call === call && r.variant === variant).map((r) => r.ns)).toFixed(1);
      process.stdout.write(
        `${h.half.padEnd(8)} ${call.padEnd(9)} ${at('no filter').padStart(10)} ${at('hand-written').padStart(13)} ${at('libseccomp').padStart(11)}\n`,
      );
    }
}

main().catch((err) => {
  process.stderr.write(`bench:filter: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
