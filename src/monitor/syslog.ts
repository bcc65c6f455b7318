// Messages to the syslog socket, framed as glibc's syslog(3) frames them, and delivered
// through a syslog daemon that restarts or is not there yet: undelivered lines wait in
// a bounded queue and go out, in order, once the socket accepts them again.

import os = require('node:os');
import { SYSLOG_IDENT } from '../shared/params.js';
import { loadAddon } from '../shared/addon.js';
import { clockTime } from './format.js';
import type { SyslogHandle, SyslogSock } from '../types/syslogsock.js';

/**
 * Lines kept while syslog is unreachable, and as many structured events besides;
 * beyond it the oldest of the kind are dropped and counted, so that events never cost
 * a classic line its place.
 */
export const SYSLOG_QUEUE_LIMIT = 1000;
/** How often to try the socket again while it is unreachable. */
export const SYSLOG_RETRY_MS = 200;

/** The few calls made on a connected Unix datagram socket (native/syslogsock.c's, or a fake). */
export interface DatagramSocket {
  /** Returns 'sent', 'busy' (try again when writable) or an error code string. */
  send(datagram: Buffer): string;
  onWritable(listener: () => void): void;
  close(): void;
}

export type DatagramConnector = (path: string) => DatagramSocket;

/** A classic line (the scan, the flood notice, faults, counters) or a structured event. */
export type SyslogKind = 'line' | 'event';

/** Errors that mean the receiving socket is gone, not that the line was refused. */
const PEER_GONE = new Set(['ECONNREFUSED', 'ENOENT', 'ENOTCONN', 'EPIPE', 'ECONNRESET']);

/** The addon reports a failed call with an errno number; Node knows the names. */
const errnoNames = new Map<number, string>();
// The first name of a number wins (EAGAIN, not EWOULDBLOCK).
for (const [name, n] of Object.entries(os.constants.errno)) if (!errnoNames.has(n)) errnoNames.set(n, name);

function errnoName(errno: unknown): string {
  const n = typeof errno === 'number' ? errno : NaN;
  return errnoNames.get(n) ?? `errno ${String(n)}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Mmm dd hh:mm:ss" with the day padded by a space, as glibc stamps syslog messages. */
export function syslogTimestamp(d: Date): string {
  const day = d.getDate();
  return `${MONTHS[d.getMonth()] as string} ${day < 10 ? ' ' : ''}${day} ${clockTime(d)}`;
}

/** The datagram written to /dev/log: priority, time stamp, ident, message; no pid. */
export function syslogDatagram(message: string, when: Date, priority: number, ident = SYSLOG_IDENT): Buffer {
  return Buffer.from(`<${priority}>${syslogTimestamp(when)} ${ident}: ${message}`, 'latin1');
}

class SyslogConnectError extends Error {
  readonly code = 'ERR_SCANLOGD_SYSLOG';
}

/** send()'s results besides a negative errno number. */
const SENT = 0;
const BUSY = 1;

/** The one place the addon is loaded: by the monitor, before its sandbox. */
export function loadSyslogSock(): SyslogSock {
  return loadAddon<SyslogSock>('syslogsock', 'syslog socket addon');
}

/**
 * Connects with the project's addon: every datagram goes out with write(2) on the
 * connected socket, so none can carry a descriptor. Loads the addon now, so that a
 * missing one is a start-up error and not an unreachable syslog.
 */
export function syslogSocketConnector(addon: SyslogSock = loadSyslogSock()): DatagramConnector {
  return (path) => {
    const listeners: Array<() => void> = [];
    let handle: SyslogHandle;
    try {
      handle = addon.connect(path, () => {
        for (const listener of listeners) listener();
      });
    } catch (err) {
      throw new SyslogConnectError(errnoName((err as { errno?: unknown }).errno));
    }
    let open = true;
    return {
      send(datagram) {
        if (!open) return 'EBADF';
        const result = addon.send(handle, datagram);
        if (result === SENT) return 'sent';
        return result === BUSY ? 'busy' : errnoName(-result);
      },
      onWritable(listener) {
        listeners.push(listener);
      },
      close() {
        if (!open) return;
        open = false;
        addon.close(handle);
      },
    };
  };
}

export interface SyslogWriterOptions {
  queueLimit?: number;
  retryMs?: number;
  connect?: DatagramConnector;
  /** Reports changes of state (unreachable, reachable again, lines dropped). */
  notice?: (text: string) => void;
}

export class SyslogWriter {
  private socket: DatagramSocket | null = null;
  private readonly queue: Array<{ datagram: Buffer; kind: SyslogKind }> = [];
  private readonly queuedOf: Record<SyslogKind, number> = { line: 0, event: 0 };
  private retryTimer: NodeJS.Timeout | null = null;
  private down = false;
  private closed = false;
  /** Lines dropped because the queue was full (or the socket refused them). */
  dropped = 0;
  /** Events dropped likewise. */
  droppedEvents = 0;
  delivered = 0;
  private readonly queueLimit: number;
  private readonly retryMs: number;
  private readonly connector: DatagramConnector;
  private readonly notice: (text: string) => void;

  constructor(
    readonly path: string,
    options: SyslogWriterOptions = {},
  ) {
    this.queueLimit = options.queueLimit ?? SYSLOG_QUEUE_LIMIT;
    this.retryMs = options.retryMs ?? SYSLOG_RETRY_MS;
    this.connector = options.connect ?? syslogSocketConnector();
    this.notice = options.notice ?? (() => {});
    this.reconnect();
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Sends `message` at `priority` (facility | level), stamped `when`. */
  log(priority: number, message: string, when = new Date(), kind: SyslogKind = 'line'): void {
    this.send(syslogDatagram(message, when, priority), kind);
  }

  /** Queues one datagram as it is, and sends what the socket takes now. */
  send(datagram: Buffer, kind: SyslogKind = 'line'): void {
    if (this.queuedOf[kind] >= this.queueLimit) {
      this.queue.splice(
        this.queue.findIndex((entry) => entry.kind === kind),
        1,
      );
      this.queuedOf[kind]--;
      const dropped = this.countDrop(kind);
      if (dropped === 1 || dropped % 100 === 0) {
        this.notice(`syslog queue full (${this.queueLimit} ${kind}s): ${dropped} oldest ${kind === 'line' ? '' : 'events '}dropped so far`);
      }
    }
    this.queue.push({ datagram, kind });
    this.queuedOf[kind]++;
    if (this.queue.length === 1) this.flush();
  }

  private countDrop(kind: SyslogKind): number {
    return kind === 'line' ? ++this.dropped : ++this.droppedEvents;
  }

  private shift(): SyslogKind {
    const { kind } = this.queue.shift() as { kind: SyslogKind };
    this.queuedOf[kind]--;
    return kind;
  }

  /** Sends what is queued, in order, until the queue is empty or the socket balks. */
  flush(): void {
    if (this.closed) return;
    let fresh = false;
    while (this.queue.length > 0) {
      if (this.socket === null) {
        if (!this.reconnect()) return;
        fresh = true;
      }
      const socket = this.socket as DatagramSocket;
      const result = socket.send((this.queue[0] as { datagram: Buffer }).datagram);
      if (result === 'sent') {
        this.shift();
        this.delivered++;
        fresh = false;
        continue;
      }
      if (result === 'busy') return; // the writable event resumes
      if (fresh && !PEER_GONE.has(result)) {
        // Refused by a socket connected just now: the line itself is at fault
        // (too long for the receiver, say). Drop it rather than block the queue.
        this.countDrop(this.shift());
        this.notice(`syslog socket ${this.path} refused a line (${result}); dropped`);
        continue;
      }
      socket.close();
      this.socket = null;
      if (fresh) {
        // The peer went away again at once: wait for the timer rather than spin.
        this.markDown(result);
        this.scheduleRetry();
        return;
      }
      // A syslog daemon that restarted has a new socket at the same path: try it
      // at once; if that fails the timer takes over.
    }
  }

  private markDown(reason: string): void {
    if (this.down) return;
    this.down = true;
    this.notice(`syslog socket ${this.path}: ${reason}; retrying every ${this.retryMs} ms, keeping up to ${this.queueLimit} lines`);
  }

  private reconnect(): boolean {
    try {
      const socket = this.connector(this.path);
      socket.onWritable(() => this.flush());
      this.socket = socket;
      if (this.down) {
        this.down = false;
        this.notice(`syslog socket ${this.path} reachable again, delivering ${this.queue.length} queued lines`);
      }
      return true;
    } catch (err) {
      this.markDown((err as Error).message);
      this.scheduleRetry();
      return false;
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== null || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.queue.length > 0) this.flush();
      else if (this.socket === null) this.reconnect();
    }, this.retryMs);
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.socket?.close();
    this.socket = null;
  }
}
