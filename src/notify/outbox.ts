// One channel's queue: events wait here until a message that summarises them is
// delivered. At most one message per interval; a failed attempt is retried with
// backoff and the next attempt summarises everything waiting by then; events that
// wait longer than the give-up bound (or overflow the queue) are dropped, counted,
// reported, and said in the next message that gets through.

import type { Message, Undelivered } from './digest.js';
import type { Note } from './events.js';
import type { Position } from './follower.js';
import type { Sender } from './channels.js';

export interface Pending {
  /** Order of arrival, the same in every channel. */
  seq: number;
  note: Note;
  /** Where the event's line starts in the events file. */
  start: Position;
  arrivedMs: number;
}

export interface Timing {
  intervalMs: number;
  waitMs: number;
  timeoutMs: number;
  giveUpMs: number;
}

export interface OutboxReport {
  failed(channel: string, why: string, attempt: number, retryInMs: number): void;
  delivered(channel: string, message: Message, attempts: number): void;
  gaveUp(channel: string, events: number, why: string): void;
}

/** Events one channel holds at most; beyond, the oldest are given up. */
export const MAX_PENDING = 10000;
export const FIRST_RETRY_MS = 2000;
export const MAX_RETRY_MS = 5 * 60000;

export class Outbox {
  private pending: Pending[] = [];
  private lastSentMs = -Infinity;
  private retryAtMs = -Infinity;
  private attempt = 0;
  private lastError = '';
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  /** Events given up and not yet said in a delivered message. */
  private lost = 0;
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly send: Sender,
    private readonly timing: Timing,
    private readonly render: (notes: Note[], undelivered: Undelivered | null) => Message,
    private readonly report: OutboxReport,
    /** Called whenever events leave the queue (delivered or given up). */
    private readonly settled: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  add(p: Pending): void {
    if (this.stopped) return;
    this.pending.push(p);
    if (this.pending.length > MAX_PENDING) this.giveUp(this.pending.length - MAX_PENDING, `more than ${MAX_PENDING} events waiting`);
    this.schedule();
  }

  /** The earliest event still waiting here, or null. */
  get oldest(): Pending | null {
    return this.pending[0] ?? null;
  }

  /** Waits for an attempt under way, then sends nothing more. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  private giveUp(count: number, why: string): void {
    this.pending.splice(0, count);
    this.lost += count;
    this.report.gaveUp(this.name, count, why);
    this.settled();
  }

  private schedule(): void {
    if (this.stopped || this.inFlight !== null || this.timer !== null) return;
    const first = this.pending[0];
    if (first === undefined) return;
    const due = Math.max(first.arrivedMs + this.timing.waitMs, this.lastSentMs + this.timing.intervalMs, this.retryAtMs);
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.attemptDelivery();
      },
      Math.max(0, due - this.now()),
    );
  }

  private attemptDelivery(): void {
    const now = this.now();
    const expired = this.pending.findIndex((p) => now - p.arrivedMs <= this.timing.giveUpMs);
    const tooOld = expired < 0 ? this.pending.length : expired;
    if (tooOld > 0) {
      this.giveUp(tooOld, `not delivered within ${Math.round(this.timing.giveUpMs / 1000)} s; last error: ${this.lastError}`);
    }
    const batch = this.pending.slice();
    const last = batch[batch.length - 1];
    if (last === undefined) return;
    const lost = this.lost;
    const message = this.render(
      batch.map((p) => p.note),
      lost > 0 ? { events: lost, why: `not delivered within ${Math.round(this.timing.giveUpMs / 1000)} s: ${this.lastError}` } : null,
    );
    this.inFlight = this.send(message, this.timing.timeoutMs).then(
      () => {
        this.inFlight = null;
        // Events given up while the message was on its way were in it: still delivered.
        this.pending = this.pending.filter((p) => p.seq > last.seq);
        this.lost -= lost;
        this.lastSentMs = this.now();
        this.report.delivered(this.name, message, this.attempt + 1);
        this.attempt = 0;
        this.retryAtMs = -Infinity;
        this.settled();
        this.schedule();
      },
      (err: unknown) => {
        this.inFlight = null;
        this.attempt++;
        this.lastError = (err as Error).message;
        const backoff = Math.min(FIRST_RETRY_MS * 2 ** (this.attempt - 1), MAX_RETRY_MS);
        this.retryAtMs = this.now() + backoff;
        this.report.failed(this.name, this.lastError, this.attempt, backoff);
        this.schedule();
      },
    );
  }
}
