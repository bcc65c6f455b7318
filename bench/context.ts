// What every measurement of one benchmark run shares: the test bed, a directory for
// syslog sockets, the link floods are sent on, the options, and the listeners still
// open (so that an interrupted run can close them).

import childProcess = require('node:child_process');
import path = require('node:path');
import type { Testbed } from '../harness/netns.js';
import type { LinkTransport } from '../harness/generator.js';
import type { Options } from './options.js';
import { listenTimedSyslog, type TimedSyslog } from './syslog.js';

export interface Context {
  bed: Testbed;
  dir: string;
  link: LinkTransport;
  options: Options;
  listeners: Set<TimedSyslog>;
  sequence: number;
}

export function createContext(bed: Testbed, dir: string, options: Options, listeners: Set<TimedSyslog>): Context {
  return { bed, dir, link: linkTransport(bed), options, listeners, sequence: 0 };
}

/** A fresh syslog socket in the run's directory, for one daemon start. */
export function listener(ctx: Context, name: string): TimedSyslog {
  const l = listenTimedSyslog(path.join(ctx.dir, `${name.replace(/\//g, '-')}-${++ctx.sequence}`));
  ctx.listeners.add(l);
  return l;
}

export function closeListener(ctx: Context, l: TimedSyslog): void {
  l.close();
  ctx.listeners.delete(l);
}

function vethOf(ns: string): { dev: string; mac: string } {
  const out = childProcess.spawnSync('ip', ['-n', ns, '-o', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' }).stdout;
  const m = /^\d+:\s+([^@:\s]+)[@:].*link\/ether\s+([0-9a-f:]{17})/m.exec(String(out));
  if (m === null) throw new Error(`no veth in namespace ${ns}`);
  return { dev: m[1] as string, mac: m[2] as string };
}

/** Sending on the scanner's end of the veth, addressed to the target's end. */
function linkTransport(bed: Testbed): LinkTransport {
  return { dev: vethOf(bed.scanner).dev, mac: vethOf(bed.target).mac };
}
