// Turns the policies' rules (per call, the first clause that holds decides) into the
// rules libseccomp takes, whose conditions are alternatives with no order: libseccomp
// reorders conditions into a tree by argument, lets an unconditional rule replace the
// conditional ones of its call, and takes one comparison per argument in a rule. So each
// clause becomes the part of the argument space that it alone decides, cut into
// disjoint pieces that libseccomp can write: one masked comparison per argument.

import type { FilterCondition, FilterRule, SeccompCondition, SeccompRule } from '../types/procctl.js';

/** (argument & mask) == value. Blocks of one set never overlap. */
interface Block {
  mask: bigint;
  value: bigint;
}

/** A set of arguments: for each of the six, the blocks it may fall in. */
type Box = Block[][];

const ARGS = 6;
const LOW32 = 0xffff_ffffn;
const ALL64 = 0xffff_ffff_ffff_ffffn;
const ANY: Block = { mask: 0n, value: 0n };
const anyBox = (): Box => Array.from({ length: ARGS }, () => [ANY]);

function blocksOf(condition: SeccompCondition): Block[] {
  if (!Number.isInteger(condition.arg) || condition.arg < 0 || condition.arg >= ARGS)
    throw new Error(`seccomp: arg ${condition.arg} is not 0..5`);
  if (condition.values.length === 0) throw new Error('seccomp: a condition needs at least one value');
  const width = condition.wide === true ? ALL64 : LOW32;
  const mask = BigInt.asUintN(64, BigInt(condition.mask ?? ALL64)) & width;
  const values = new Set(condition.values.map((v) => BigInt.asUintN(64, BigInt(v)) & mask));
  return [...values].map((value) => ({ mask, value }));
}

function intersectBlocks(a: Block, b: Block): Block | null {
  if (((a.value ^ b.value) & a.mask & b.mask) !== 0n) return null;
  return { mask: a.mask | b.mask, value: a.value | b.value };
}

/**
 * a without every block of `bs`, as disjoint blocks: a is split on one bit at a time
 * that a block still in its way fixes, until each half misses them all or lies in one.
 */
function subtractBlocks(a: Block, bs: readonly Block[]): Block[] {
  const hits = bs.filter((b) => intersectBlocks(a, b) !== null);
  if (hits.length === 0) return [a];
  if (hits.some((b) => (b.mask & ~a.mask) === 0n)) return [];
  const free = (hits[0] as Block).mask & ~a.mask;
  let bit = 1n << 63n;
  while ((free & bit) === 0n) bit >>= 1n;
  const mask = a.mask | bit;
  return [...subtractBlocks({ mask, value: a.value }, hits), ...subtractBlocks({ mask, value: a.value | bit }, hits)];
}

const intersectSets = (a: Block[], b: Block[]): Block[] =>
  a.flatMap((x) => b.map((y) => intersectBlocks(x, y)).filter((block): block is Block => block !== null));

const subtractSets = (a: Block[], b: Block[]): Block[] => a.flatMap((x) => subtractBlocks(x, b));

function intersectBoxes(a: Box, b: Box): Box | null {
  const box = a.map((set, arg) => intersectSets(set, b[arg] as Block[]));
  return box.some((set) => set.length === 0) ? null : box;
}

/** a without b, as disjoint boxes: the first argument b limits outside it, then the next... */
function subtractBoxes(a: Box, b: Box): Box[] {
  const pieces: Box[] = [];
  let inside: Box = a;
  for (let arg = 0; arg < ARGS; arg++) {
    const limit = b[arg] as Block[];
    if (limit.length === 1 && (limit[0] as Block).mask === 0n) continue;
    const outside = subtractSets(inside[arg] as Block[], limit);
    if (outside.length > 0) pieces.push(inside.map((set, i) => (i === arg ? outside : set)));
    const within = intersectSets(inside[arg] as Block[], limit);
    if (within.length === 0) return pieces;
    inside = inside.map((set, i) => (i === arg ? within : set));
  }
  return pieces;
}

function boxOf(conditions: readonly SeccompCondition[]): Box {
  const box = anyBox();
  for (const condition of conditions) {
    const blocks = intersectSets(box[condition.arg] ?? [], blocksOf(condition));
    box[condition.arg] = blocks;
  }
  return box;
}

/** One libseccomp rule for each way of picking a block per argument. */
function rulesOfBox(syscall: string, action: number, box: Box): FilterRule[] {
  let combinations: FilterCondition[][] = [[]];
  box.forEach((set, arg) => {
    const conditions = set.filter((block) => block.mask !== 0n).map((block) => ({ arg, ...block }));
    if (conditions.length > 0) combinations = combinations.flatMap((c) => conditions.map((condition) => [...c, condition]));
  });
  return combinations.map((when) => ({ syscall, action, when }));
}

interface Region {
  action: number;
  box: Box;
}

/**
 * Each region with as few arguments limited as it can have: a limit goes where the
 * region would still meet no region of another action. Regions of one action may
 * then overlap, which libseccomp allows (its rules of a call are ORed); the products
 * of rulesOfBox stay small (the events file's fcntl rule: 1,121 rules without this).
 */
function widen(regions: readonly Region[]): Region[] {
  return regions.map((region, i) => {
    let box = region.box;
    for (let arg = 0; arg < ARGS; arg++) {
      const wider = box.map((set, a) => (a === arg ? [ANY] : set));
      const meets = regions.some((other, j) => j !== i && other.action !== region.action && intersectBoxes(wider, other.box) !== null);
      if (!meets) box = wider;
    }
    return { action: region.action, box };
  });
}

/**
 * The rule as libseccomp rules: each clause takes what no earlier clause took, `otherwise`
 * the rest; rules with different actions never hold together.
 */
export function disjointRules(rule: SeccompRule): FilterRule[] {
  const regions: Region[] = [];
  let rest: Box[] = [anyBox()];
  for (const clause of rule.clauses) {
    const box = boxOf(clause.when);
    for (const part of rest) {
      const taken = intersectBoxes(part, box);
      if (taken !== null) regions.push({ action: clause.action, box: taken });
    }
    rest = rest.flatMap((part) => subtractBoxes(part, box));
  }
  for (const part of rest) regions.push({ action: rule.otherwise, box: part });
  return widen(regions).flatMap((region) => rulesOfBox(rule.syscall, region.action, region.box));
}

/** A policy as libseccomp rules; a call named again after its first rule keeps the first, as the policies are read. */
export function filterRules(rules: readonly SeccompRule[]): FilterRule[] {
  const seen = new Set<string>();
  return rules.flatMap((rule) => {
    if (seen.has(rule.syscall)) return [];
    seen.add(rule.syscall);
    return disjointRules(rule);
  });
}
