// Messages to the syslog socket, framed as glibc's syslog(3) frames them, and delivered
// through a syslog daemon that restarts or is not there yet: undelivered lines wait in
// a bounded queue and go out, in order, once the socket accepts them again.

import { SYSLOG_IDENT } from '../shared/logging.js';
import { syslogDatagram } from '../shared/syslogframe.js';
import { syslogSocketConnector, type DatagramConnector, type DatagramSocket } from '../shared/syslogsock.js';

/**
 * Lines kept while syslog is unreachable, and as many structured events besides;
 * beyond it the oldest of the kind are dropped and counted, so that events never cost
 * a classic line its place.
 */
export const SYSLOG_QUEUE_LIMIT = 1000;
/** How often to try the socket again while it is unreachable. */
export const SYSLOG_RETRY_MS = 200;

/** A classic line (the scan, the flood notice, faults, counters) or a structured event. */
export type SyslogKind = 'line' | 'event';

/** Errors that mean the receiving socket is gone, not that the line was refused. */
const PEER_GONE = new Set(['ECONNREFUSED', 'ENOENT', 'ENOTCONN', 'EPIPE', 'ECONNRESET']);

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
  private downReason = '';

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

  /** Why the socket cannot be reached now, or null when it can. */
  get unreachable(): string | null {
    return this.down ? this.downReason : null;
  }

  /** Sends `message` at `priority` (facility | level), stamped `when`. */
  log(priority: number, message: string, when = new Date(), kind: SyslogKind = 'line'): void {
    this.send(syslogDatagram(message, when, priority, SYSLOG_IDENT), kind);
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
    this.downReason = reason;
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
