// The policies' rules as libseccomp rules (src/shared/filter.ts): for every argument
// tried, the rules of a call that hold give one action, what the policy's first
// holding clause gives; and, through the kernel, a wide condition tells apart values that
// differ only in their upper 32 bits, where an int condition does not.

import test from 'ava';
import childProcess = require('node:child_process');
import path = require('node:path');
import { disjointRules, filterRules } from '../../src/shared/filter.js';
import { Action, DENY } from '../../src/shared/sandbox.js';
import { capturePlan } from '../../src/capture/sandbox.js';
import { monitorPlan } from '../../src/monitor/sandbox.js';
import type { FilterRule, SeccompRule } from '../../src/types/procctl.js';

const DIST = path.resolve(__dirname, '..', '..', 'src');
const LOW32 = 0xffff_ffffn;

/** What the policy says for `args`: its first clause whose conditions all hold, else `otherwise`. */
function policyAction(rule: SeccompRule, args: readonly bigint[]): number {
  for (const clause of rule.clauses) {
    const holds = clause.when.every((c) => {
      const width = c.wide === true ? (1n << 64n) - 1n : LOW32;
      const mask = BigInt.asUintN(64, BigInt(c.mask ?? -1)) & width;
      return c.values.some((v) => ((args[c.arg] as bigint) & mask) === (BigInt.asUintN(64, BigInt(v)) & mask));
    });
    if (holds) return clause.action;
  }
  return rule.otherwise;
}

/** The actions of the libseccomp rules that hold for `args`. */
const filterActions = (rules: readonly FilterRule[], args: readonly bigint[]): number[] =>
  rules.filter((r) => r.when.every((c) => ((args[c.arg] as bigint) & c.mask) === c.value)).map((r) => r.action);

/** Arguments near each value a rule names, with and without bits in the upper half. */
function samples(rule: SeccompRule): bigint[][] {
  const near = new Set<bigint>([0n, 1n, LOW32, 1n << 32n, (1n << 64n) - 1n]);
  for (const clause of rule.clauses)
    for (const c of clause.when)
      for (const v of c.values) {
        const b = BigInt.asUintN(64, BigInt(v));
        for (const x of [b, b + 1n, b - 1n, b | 0xdead_0000_0000n, b ^ (1n << 32n), b | BigInt(c.mask ?? 0)])
          near.add(BigInt.asUintN(64, x));
      }
  const values = [...near];
  const out: bigint[][] = [];
  // Two arguments at a time over every pair of values, the rest 0: the policies' clauses test at most two.
  for (let a = 0; a < 3; a++)
    for (let b = a + 1; b < 4; b++)
      for (const x of values)
        for (const y of values) {
          const args = [0n, 0n, 0n, 0n, 0n, 0n];
          args[a] = x;
          args[b] = y;
          out.push(args);
        }
  return out;
}

test("every rule of both halves' policies: for each argument tried, the libseccomp rules that hold give one action, the policy's", (t) => {
  const policies = [...capturePlan([5, 6], 100, 200).rules, ...monitorPlan(100, [7, 9], 5).rules];
  let tried = 0;
  for (const rule of policies) {
    const rules = disjointRules(rule);
    for (const args of samples(rule)) {
      const actions = filterActions(rules, args);
      const expected = policyAction(rule, args);
      if (actions.length === 0 || actions.some((action) => action !== expected)) {
        t.fail(
          `${rule.syscall}(${args.map((a) => '0x' + a.toString(16)).join(', ')}): rules give [${actions.join(', ')}], the policy ${expected}`,
        );
        return;
      }
      tried++;
    }
  }
  t.log(`${tried} argument vectors over ${policies.length} rules`);
  t.pass();
});

test('the first rule naming a call is the one kept, as the policies read', (t) => {
  const rules = filterRules([
    { syscall: 'wait4', clauses: [], otherwise: Action.allow },
    { syscall: 'wait4', clauses: [], otherwise: DENY },
  ]);
  t.deepEqual(rules, [{ syscall: 'wait4', action: Action.allow, when: [] }]);
});

test('an int condition ignores the upper half of the register, as the kernel does: fd 5 with bit 32 set is still refused', (t) => {
  const rule: SeccompRule = { syscall: 'write', clauses: [{ when: [{ arg: 0, values: [5] }], action: DENY }], otherwise: Action.allow };
  const rules = disjointRules(rule);
  t.deepEqual(filterActions(rules, [5n | (1n << 32n)]), [DENY]);
  t.deepEqual(filterActions(rules, [6n | (1n << 32n)]), [Action.allow]);
});

test('through the kernel: a wide condition on pread64 tells position 2^32 from position 0; an int condition cannot', (t) => {
  // pread64's position is a 64-bit argument Node passes whole.
  const run = (wide: boolean): string => {
    const r = childProcess.spawnSync(
      process.execPath,
      [
        '-e',
        `
      const fs = require('node:fs');
      const procctl = require(${JSON.stringify(path.join(DIST, 'shared', 'procctl.js'))}).loadProcCtl();
      const fd = fs.openSync('/dev/zero', 'r');
      procctl.noNewPrivs();
      require(${JSON.stringify(path.join(DIST, 'shared', 'sandbox.js'))}).installFilter([{ syscall: 'pread64',
        clauses: [{ when: [{ arg: 3, values: [2n ** 32n], wide: ${wide} }], action: ${Action.errno(11)} }], otherwise: ${Action.allow} }], ${Action.allow}, procctl);
      for (const position of [0, 2 ** 32, 2 ** 32 + 1]) {
        try { fs.readSync(fd, Buffer.alloc(1), 0, 1, position); console.log(position, 'read'); } catch (err) { console.log(position, err.code); }
      }
    `,
      ],
      { encoding: 'utf8', timeout: 20000 },
    );
    t.is(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  t.is(run(true), ['0 read', '4294967296 EAGAIN', '4294967297 read'].join('\n'));
  t.is(run(false), ['0 EAGAIN', '4294967296 EAGAIN', '4294967297 read'].join('\n'));
});

/** Runs a classic BPF seccomp program (the instructions libseccomp emits) on one call. */
function runBpf(program: Buffer, nr: number, arch: number, args: readonly bigint[]): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  args.forEach((a, i) => data.writeBigUInt64LE(a, 16 + 8 * i));
  let [acc, x, pc] = [0, 0, 0];
  const mem = new Uint32Array(16);
  for (let steps = 0; steps < 100000; steps++) {
    const at = pc * 8;
    const [code, jt, jf, k] = [
      program.readUInt16LE(at),
      program.readUInt8(at + 2),
      program.readUInt8(at + 3),
      program.readUInt32LE(at + 4),
    ];
    pc++;
    const cls = code & 0x07;
    const src = code & 0x08 ? x : k;
    if (code === 0x20)
      acc = data.readUInt32LE(k); // ld [k]
    else if (code === 0x00)
      acc = k; // ld #k
    else if (code === 0x60)
      acc = mem[k] as number; // ld M[k]
    else if (code === 0x02)
      mem[k] = acc; // st M[k]
    else if (code === 0x01)
      x = k; // ldx #k
    else if (code === 0x61)
      x = mem[k] as number; // ldx M[k]
    else if (code === 0x87)
      acc = x; // txa
    else if (code === 0x07)
      x = acc; // tax
    else if (cls === 0x04 && (code & 0xf0) === 0x50)
      acc = (acc & src) >>> 0; // and
    else if (cls === 0x04 && (code & 0xf0) === 0x40)
      acc = (acc | src) >>> 0; // or
    else if (code === 0x05)
      pc += k; // ja
    else if (cls === 0x05) {
      const op = code & 0xf0;
      const taken = op === 0x10 ? acc === src : op === 0x20 ? acc > src : op === 0x30 ? acc >= src : (acc & src) !== 0;
      pc += taken ? jt : jf;
    } else if (code === 0x06)
      return k; // ret #k
    else if (code === 0x16)
      return acc; // ret a
    else throw new Error(`instruction 0x${code.toString(16)} at ${pc - 1} not known to this interpreter`);
  }
  throw new Error('program did not return');
}

test('the program libseccomp makes: other architectures and x32 calls kill; wide and int conditions on 64-bit values', (t) => {
  if (process.arch !== 'x64') return t.pass('x86_64 numbers below');
  const AUDIT_ARCH_X86_64 = 0xc000003e;
  const AUDIT_ARCH_I386 = 0x40000003;
  const [PREAD64, WRITE, GETPID] = [17, 1, 39];
  const r = childProcess.spawnSync(
    process.execPath,
    [
      '-e',
      `
    const procctl = require(${JSON.stringify(path.join(DIST, 'shared', 'procctl.js'))}).loadProcCtl();
    const { filterRules } = require(${JSON.stringify(path.join(DIST, 'shared', 'filter.js'))});
    const rules = filterRules([
      { syscall: 'pread64', clauses: [{ when: [{ arg: 3, values: [2n ** 32n], wide: true }], action: ${Action.errno(11)} }], otherwise: ${Action.allow} },
      { syscall: 'write', clauses: [{ when: [{ arg: 0, values: [5] }], action: ${DENY} }], otherwise: ${Action.allow} },
      { syscall: 'getpid', clauses: [], otherwise: ${Action.allow} },
    ]);
    process.stdout.write(procctl.exportFilter(rules, ${Action.killProcess}).toString('hex'));
  `,
    ],
    { encoding: 'utf8' },
  );
  t.is(r.status, 0, r.stderr);
  const program = Buffer.from(r.stdout, 'hex');
  const call = (nr: number, args: bigint[] = [], arch = AUDIT_ARCH_X86_64): number =>
    runBpf(program, nr, arch, [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6));
  t.is(call(GETPID), Action.allow);
  t.is(call(GETPID, [], AUDIT_ARCH_I386), Action.killProcess);
  t.is(call(GETPID | 0x4000_0000), Action.killProcess, 'x32 getpid');
  t.is(call(WRITE | 0x4000_0000, [1n]), Action.killProcess, 'x32 write');
  t.is(call(60), Action.killProcess, 'exit: named by no rule');
  t.is(call(PREAD64, [3n, 0n, 1n, 0n]), Action.allow);
  t.is(call(PREAD64, [3n, 0n, 1n, 1n << 32n]), Action.errno(11));
  t.is(call(PREAD64, [3n, 0n, 1n, (1n << 32n) | 1n]), Action.allow);
  t.is(call(PREAD64, [3n, 0n, 1n, 1n << 33n]), Action.allow);
  t.is(call(WRITE, [5n]), DENY);
  t.is(call(WRITE, [5n | (1n << 40n)]), DENY, 'fd 5 with garbage above bit 31');
  t.is(call(WRITE, [6n]), Action.allow);
  t.is(call(WRITE, [0xffff_ffffn]), Action.allow);
});
