// What the raw-socket reader pays per packet before any JS runs, IPv4 against IPv6, in
// one run: bench/recv/recvbench.c reads spoofed SYNs from raw sockets of both families
// with each kind of ancillary data asked for, alternating, and moves records of both
// sizes through a socketpair as the channel does. Root (raw sockets, a namespace of its
// own: the packets never leave its loopback).
//
//   npm run bench:recv [-- --packets N --rounds N]

import childProcess = require('node:child_process');
import path = require('node:path');
import { compileC } from '../harness/compile.js';
import { median, table } from './stats.js';

const REPO = path.resolve(__dirname, '..', '..');
const SOURCE = path.join(REPO, 'bench', 'recv', 'recvbench.c');
const BINARY = path.join(REPO, 'dist', 'bench', 'recvbench');

function option(name: string, fallback: number, max: number): number {
  const at = process.argv.indexOf(name);
  const value = at < 0 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    process.stderr.write('usage: node dist/bench/recv.js [--packets N (4096..10^7)] [--rounds N (1..25)]\n');
    process.exit(2);
  }
  return value;
}

const packets = Math.max(4096, option('--packets', 204_800, 10_000_000));
const rounds = option('--rounds', 5, 25);
compileC(SOURCE, BINARY, 'receive benchmark');
const out = childProcess.execFileSync('unshare', ['-n', BINARY, String(packets), String(rounds)], { encoding: 'utf8' });

const names = new Map<number, string>();
const runs = new Map<number, { call: number[]; after: number[]; control: number }>();
const channel = new Map<string, number[]>();
for (const line of out.trim().split('\n')) {
  const f = line.split(' ');
  if (f[0] === '#') names.set(Number(f[1]), f.slice(2).join(' '));
  else if (f[0] === 'channel') channel.set(f[2] as string, [...(channel.get(f[2] as string) ?? []), Number(f[4])]);
  else {
    const r = runs.get(Number(f[0])) ?? { call: [], after: [], control: Number(f[5]) };
    r.call.push(Number(f[2]));
    r.after.push(Number(f[3]));
    runs.set(Number(f[0]), r);
  }
}
// Variant 1 is the IPv4 socket as the daemon opens it.
const base = median((runs.get(1) as { call: number[] }).call) + median((runs.get(1) as { after: number[] }).after);
const rows = [...runs.entries()].map(([v, r]) => {
  const total = median(r.call) + median(r.after);
  return [
    names.get(v) ?? String(v),
    median(r.call).toFixed(0),
    median(r.after).toFixed(1),
    total.toFixed(0),
    (total - base).toFixed(0),
    String(r.control),
  ];
});
console.log(`${packets} packets per variant and round, median of ${rounds} rounds (CPU ns per packet)`);
console.log(table(['socket', 'in recvmmsg', 'after (walk, header)', 'total', 'vs IPv4 as shipped', 'control bytes per 256'], rows));
console.log(
  table(
    ['channel record', 'write + read, ns per record'],
    [...channel.entries()].map(([size, ns]) => [`${size} records`, median(ns).toFixed(1)]),
  ),
);
