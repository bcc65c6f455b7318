// A two-host test network: a target namespace (where the daemons run) and a scanner
// namespace, joined by a veth pair, on addresses from 198.18.0.0/15 only, and, when
// asked for, from the unique-local fd00::/8 too.

import childProcess = require('node:child_process');
import fs = require('node:fs');

let counter = 0;

export interface Testbed {
  target: string;
  scanner: string;
  /** The target's addresses: the first is the usual destination, the second a spare. */
  targetAddr: string;
  targetAddr2: string;
  scannerAddr: string;
  /** IPv6 (fd00::/8), configured only when the testbed was created with `ipv6`. */
  targetAddr6: string;
  targetAddr6b: string;
  scannerAddr6: string;
  /** The veth ends in the target and scanner namespaces. */
  targetDev: string;
  scannerDev: string;
  /** Inode of the target namespace, to recognise processes that live in it. */
  targetInode: number;
  destroy(): void;
}

export function sh(cmd: string, args: string[], options: childProcess.SpawnSyncOptions = {}): string {
  const r = childProcess.spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000, ...options });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${String(r.status ?? r.signal)}): ${String(r.stderr)}`);
  }
  return String(r.stdout);
}

export const isRoot = process.getuid?.() === 0;

export function createTestbed(options: { ipv6?: boolean } = {}): Testbed {
  counter++;
  const tag = `${process.pid % 100000}x${counter}`;
  const target = `slt-${tag}`;
  const scanner = `sls-${tag}`;
  // Each testbed is its own pair of namespaces, so addresses only need to differ
  // between hosts of one testbed; the third octet still varies for readable logs.
  const net = 1 + ((process.pid + counter * 37) % 200);
  const targetAddr = `198.18.${net}.1`;
  const targetAddr2 = `198.18.${net}.3`;
  const scannerAddr = `198.18.${net}.2`;
  const prefix6 = `fd00:5c:${net.toString(16)}::`;
  const targetAddr6 = `${prefix6}1`;
  const targetAddr6b = `${prefix6}3`;
  const scannerAddr6 = `${prefix6}2`;
  const vt = `vt${tag}`.slice(0, 15);
  const vs = `vs${tag}`.slice(0, 15);
  const created: string[] = [];
  const destroy = (): void => {
    for (const ns of created) {
      childProcess.spawnSync('ip', ['netns', 'del', ns]);
    }
    childProcess.spawnSync('ip', ['link', 'del', vt]);
  };
  try {
    for (const ns of [target, scanner]) {
      sh('ip', ['netns', 'add', ns]);
      created.push(ns);
      // No duplicate address detection on the links: while a fresh veth's link-local
      // address is tentative (about a second), the kernel sends no neighbour
      // solicitation for a packet from a foreign source, so a spoofed IPv6 flood sent
      // then is dropped but for the few packets it queues. A device moved into the
      // namespace takes its defaults; DAD runs unless both settings are off.
      sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.accept_dad=0']);
    }
    sh('ip', ['link', 'add', vt, 'type', 'veth', 'peer', 'name', vs]);
    sh('ip', ['link', 'set', vt, 'netns', target]);
    sh('ip', ['link', 'set', vs, 'netns', scanner]);
    sh('ip', ['-n', target, 'addr', 'add', `${targetAddr}/24`, 'dev', vt]);
    sh('ip', ['-n', target, 'addr', 'add', `${targetAddr2}/24`, 'dev', vt]);
    sh('ip', ['-n', scanner, 'addr', 'add', `${scannerAddr}/24`, 'dev', vs]);
    for (const [ns, dev] of [
      [target, vt],
      [scanner, vs],
    ] as const) {
      sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    // Replies to spoofed sources (all inside 198.18.0.0/15) go back over the veth,
    // where the scanner namespace, which does not forward, drops them.
    sh('ip', ['-n', target, 'route', 'add', '198.18.0.0/15', 'via', scannerAddr]);
    sh('ip', ['netns', 'exec', target, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.rp_filter=0']);
    if (options.ipv6 === true) {
      // nodad: usable at once, without waiting for duplicate address detection.
      sh('ip', ['-n', target, 'addr', 'add', `${targetAddr6}/64`, 'dev', vt, 'nodad']);
      sh('ip', ['-n', target, 'addr', 'add', `${targetAddr6b}/64`, 'dev', vt, 'nodad']);
      sh('ip', ['-n', scanner, 'addr', 'add', `${scannerAddr6}/64`, 'dev', vs, 'nodad']);
      // Spoofed IPv6 sources (fd00::/8) are answered over the veth, like IPv4 ones.
      sh('ip', ['-n', target, '-6', 'route', 'add', 'fd00::/8', 'via', scannerAddr6]);
    }
    for (const ns of [target, scanner]) waitUntilNoTentativeAddress(ns);
    const targetInode = fs.statSync(`/run/netns/${target}`).ino;
    return {
      target,
      scanner,
      targetAddr,
      targetAddr2,
      scannerAddr,
      targetAddr6,
      targetAddr6b,
      scannerAddr6,
      targetDev: vt,
      scannerDev: vs,
      targetInode,
      destroy,
    };
  } catch (err) {
    destroy();
    throw err;
  }
}

/** Waits (synchronously, at most 10 s) until no IPv6 address in `ns` is tentative; throws if one stays so. */
function waitUntilNoTentativeAddress(ns: string): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + 10000;
  for (;;) {
    const tentative = sh('ip', ['-n', ns, '-6', 'addr', 'show', 'tentative']).trim();
    if (tentative === '') return;
    if (Date.now() > deadline) throw new Error(`IPv6 addresses in ${ns} still tentative after 10 s:\n${tentative}`);
    Atomics.wait(pause, 0, 0, 50);
  }
}

/** Runs a command inside a namespace and resolves with its exit code and output. */
export function runIn(
  ns: string,
  cmd: string,
  args: string[],
  timeoutMs = 60000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = childProcess.spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` until it returns a value other than undefined, or throws on timeout.
 * `what` may be a function, called only then, so that the error shows the state at the failure.
 */
export async function waitFor<T>(what: string | (() => string), check: () => T | undefined, timeoutMs = 5000, stepMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await sleep(stepMs);
  }
}
