// The load generator (harness/gen/flood.c) for the benchmark and the flood tests: built
// with the machine's gcc into dist/ (never committed), run in the scanner namespace
// pinned to CPU 0; every process started here is remembered so that an interrupted run
// can end exactly those.

import childProcess = require('node:child_process');
import path = require('node:path');
import { compileC } from './compile.js';
import { REPO } from './daemon.js';
import { ipReceived } from './proc.js';

export const GENERATOR_SOURCE = path.join(REPO, 'harness', 'gen', 'flood.c');
export const GENERATOR_BINARY = path.join(REPO, 'dist', 'harness', 'bin', 'scanlogd-flood');
/** The generator runs here; the daemons get the other CPU(s) to themselves. */
export const GENERATOR_CPU = '0';

const started = new Set<childProcess.ChildProcess>();

/** Spawns a process and remembers it until it exits. */
export function spawnTracked(cmd: string, args: string[], options: childProcess.SpawnOptions = {}): childProcess.ChildProcess {
  const child = childProcess.spawn(cmd, args, options);
  started.add(child);
  child.on('exit', () => started.delete(child));
  return child;
}

/** SIGKILLs every process this module started that is still running, by pid. */
export function killStarted(): void {
  for (const child of started) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

export function buildGenerator(): string {
  return compileC(GENERATOR_SOURCE, GENERATOR_BINARY, 'load generator');
}

/** Sending through an AF_PACKET socket on the scanner's veth instead of IPPROTO_RAW. */
export interface LinkTransport {
  dev: string;
  mac: string;
}

export interface FloodSpec {
  mode: 'syn' | 'est' | 'scan' | 'udp';
  /** IPv4 destination, or (syn and udp only) IPv6 with `dst6`. */
  dst: string;
  /** An IPv6 destination: IPv6 packets from random sources in the /64 `srcNet6`. */
  dst6?: string;
  srcNet6?: string;
  /** Packets per second; 0 sends as fast as the generator can. */
  rate: number;
  count: number;
  /** Hard limit on the run, whatever the count. */
  seconds: number;
  seed: number;
  srcNet?: string;
  checksum?: 'good' | 'bad';
  link?: LinkTransport | null;
  scans?: number;
  scanFirst?: number;
  gapUs?: number;
}

/**
 * SYNs from random sources in 198.19.0.0/16 to random ports of `target`; bad TCP
 * checksums keep the target from answering each one, so the sender is not what limits
 * the rate.
 */
export function spoofedSyns(target: { targetAddr: string }, run: Pick<FloodSpec, 'count' | 'rate' | 'seconds' | 'seed'>): FloodSpec {
  return { mode: 'syn', dst: target.targetAddr, srcNet: '198.19.0.0/16', checksum: 'bad', ...run };
}

export interface ScanSent {
  addr: string;
  /** CLOCK_MONOTONIC nanoseconds just before the threshold-crossing packet was sent. */
  crossingNs: bigint;
}

export interface FloodResult {
  mode: string;
  generated: number;
  sent: number;
  errors: number;
  seconds: number;
  pps: number;
  /** The generator's own CPU time (the target's receive path runs in its context). */
  cpuUs: number;
  stopped: 'count' | 'time' | 'signal';
  scans: ScanSent[];
}

function floodArgs(spec: FloodSpec): string[] {
  const args = [
    '--mode',
    spec.mode,
    ...(spec.dst6 === undefined ? ['--dst', spec.dst] : ['--dst6', spec.dst6]),
    '--rate',
    String(spec.rate),
    '--count',
    String(spec.count),
  ];
  if (spec.srcNet6 !== undefined) args.push('--src-net6', spec.srcNet6);
  args.push('--seconds', String(spec.seconds), '--seed', String(spec.seed));
  if (spec.srcNet !== undefined) args.push('--src-net', spec.srcNet);
  if (spec.checksum !== undefined) args.push('--checksum', spec.checksum);
  if (spec.link) args.push('--link', spec.link.dev, '--dst-mac', spec.link.mac);
  if (spec.scans !== undefined) args.push('--scans', String(spec.scans));
  if (spec.scanFirst !== undefined) args.push('--scan-first', String(spec.scanFirst));
  if (spec.gapUs !== undefined) args.push('--gap-us', String(spec.gapUs));
  return args;
}

/** Runs the generator in namespace `ns` and resolves with what it reports at the end. */
export function runFlood(ns: string, spec: FloodSpec): Promise<FloodResult> {
  const child = spawnTracked('ip', ['netns', 'exec', ns, 'taskset', '-c', GENERATOR_CPU, GENERATOR_BINARY, ...floodArgs(spec)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  // The generator stops itself; this only guards against a hung one.
  const guard = setTimeout(() => child.kill('SIGKILL'), (spec.seconds + 10) * 1000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      const lines = stdout.trim().split('\n');
      const last = lines.pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`load generator exited with ${String(code)}: ${stderr.trim()}`));
        return;
      }
      const scans: ScanSent[] = [];
      for (const line of lines) {
        const m = /^scan (\S+) (\d+)$/.exec(line);
        if (m !== null) scans.push({ addr: m[1] as string, crossingNs: BigInt(m[2] as string) });
      }
      resolve({ ...(JSON.parse(last) as Omit<FloodResult, 'scans'>), scans });
    });
  });
}

export interface ArrivedFlood extends FloodResult {
  /** IP packets of the flood's family that reached the target namespace's stack meanwhile. */
  arrived: number;
}

/**
 * Runs the generator from the scanner namespace of `bed` and counts what reached the
 * target namespace's IP stack (IpInReceives or Ip6InReceives). Fewer than half of the
 * packets sent means they were lost on the way, not by the daemon (an address not yet
 * usable, a neighbour never resolved): that throws, saying so.
 */
export async function floodTarget(bed: { scanner: string; target: string }, spec: FloodSpec): Promise<ArrivedFlood> {
  const family = spec.dst6 === undefined ? 'ipv4' : 'ipv6';
  const before = ipReceived(bed.target)[family];
  const result = await runFlood(bed.scanner, spec);
  const arrived = ipReceived(bed.target)[family] - before;
  if (arrived < result.sent / 2) {
    const counter = family === 'ipv4' ? 'IpInReceives in /proc/net/snmp' : 'Ip6InReceives in /proc/net/snmp6';
    throw new Error(
      `the load generator sent ${result.sent} packets into a void: the target namespace's stack received ${arrived} (${counter}); ` +
        'the daemon never had a chance to see them',
    );
  }
  return { ...result, arrived };
}
