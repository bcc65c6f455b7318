// One channel's queue: events wait here until a message that summarises them is
// delivered. At most one message per interval; a failed attempt is retried with
// backoff (or after the wait a 429 asks for) and the next attempt summarises everything
// waiting by then. A message the other side refuses (a 4xx) is not sent again: its
// events are dropped here, as are events that wait longer than the give-up bound or
// overflow the queue; each drop is counted, reported, and said in the next message
// that gets through. Other channels keep their own copies of the events.

import type { Message, Undelivered } from './digest.js';
import { noteWeight, type Note } from './events.js';
import type { Position } from './follower.js';
import { DeliveryError, type Sender } from './channels.js';

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
  failed(channel: string, failure: DeliveryError, attempt: number, retryInMs: number): void;
  /** The other side refused a message for good; its `events` are dropped here. */
  refused(channel: string, failure: DeliveryError, events: number): void;
  delivered(channel: string, message: Message, attempts: number): void;
  gaveUp(channel: string, events: number, why: string): void;
}

/**
 * Events one channel holds at most, and their weight (list entries: ports, ranges,
 * destinations; see noteWeight): beyond either, the oldest are given up. The weight
 * keeps the largest events the daemon can write from filling memory ten thousand at a
 * time; events of scans at the default thresholds fit ten thousand within it.
 */
export const MAX_PENDING = 10000;
export const MAX_PENDING_WEIGHT = 500000;
export const FIRST_RETRY_MS = 2000;
/** Causes of loss a message names; more are "other causes". */
const MAX_LOSS_CAUSES = 3;
export const MAX_RETRY_MS = 5 * 60000;

export class Outbox {
  private pending: Pending[] = [];
  private lastSentMs = -Infinity;
  private retryAtMs = -Infinity;
  private attempt = 0;
  private lastError: DeliveryError | null = null;
  /** The list entries of the events waiting. */
  private weight = 0;
  /** Why the events given up were (each cause once), in the notifier's own words, for the next message. */
  private lostWhy: string[] = [];
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
    this.weight += noteWeight(p.note);
    let over = 0;
    let weight = this.weight;
    const tooMany = this.pending.length > MAX_PENDING;
    while (over < this.pending.length - 1 && (this.pending.length - over > MAX_PENDING || weight > MAX_PENDING_WEIGHT)) {
      weight -= noteWeight((this.pending[over] as Pending).note);
      over++;
    }
    if (over > 0) {
      this.giveUp(
        over,
        tooMany ? `more than ${MAX_PENDING} events waiting` : `more than ${MAX_PENDING_WEIGHT} ports and addresses waiting`,
      );
    }
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
    for (const p of this.pending.splice(0, count)) this.weight -= noteWeight(p.note);
    this.lost += count;
    this.lostBecause(why);
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
      const last = this.lastError === null ? '' : `; last error: ${this.lastError.summary}`;
      this.giveUp(tooOld, `not delivered within ${Math.round(this.timing.giveUpMs / 1000)} s${last}`);
    }
    const batch = this.pending.slice();
    const last = batch[batch.length - 1];
    if (last === undefined) return;
    const lost = this.lost;
    const message = this.render(
      batch.map((p) => p.note),
      lost > 0 ? { events: lost, why: this.lostWhy.join('; ') } : null,
    );
    this.inFlight = this.send(message, this.timing.timeoutMs).then(
      () => {
        this.inFlight = null;
        // Events given up while the message was on its way were in it: still delivered.
        this.dropThrough(last.seq);
        this.lost -= lost;
        if (this.lost === 0) this.lostWhy = [];
        this.lastSentMs = this.now();
        this.report.delivered(this.name, message, this.attempt + 1);
        this.attempt = 0;
        this.retryAtMs = -Infinity;
        this.settled();
        this.schedule();
      },
      (err: unknown) => {
        this.inFlight = null;
        const failure = err instanceof DeliveryError ? err : new DeliveryError('delivery failed', String(err));
        this.lastError = failure;
        if (failure.permanent) {
          // Not sent again: this message's events are dropped here, the next events get
          // a message of their own after the interval.
          const events = this.pending.filter((p) => p.seq <= last.seq).length;
          this.dropThrough(last.seq);
          this.lost += events;
          this.lostBecause(`refused by the service: ${failure.summary}`);
          this.attempt = 0;
          this.retryAtMs = -Infinity;
          this.lastSentMs = this.now();
          this.report.refused(this.name, failure, events);
          this.settled();
        } else {
          this.attempt++;
          const backoff = failure.retryAfterMs ?? Math.min(FIRST_RETRY_MS * 2 ** (this.attempt - 1), MAX_RETRY_MS);
          this.retryAtMs = this.now() + backoff;
          this.report.failed(this.name, failure, this.attempt, backoff);
        }
        this.schedule();
      },
    );
  }

  /** Keeps a cause of loss for the next message; a few at most, the rest summed up. */
  private lostBecause(why: string): void {
    if (this.lostWhy.includes(why) || this.lostWhy.includes('other causes')) return;
    this.lostWhy.push(this.lostWhy.length < MAX_LOSS_CAUSES ? why : 'other causes');
  }

  /** Removes the events up to `seq` (delivered, or refused for good). */
  private dropThrough(seq: number): void {
    const keep = this.pending.findIndex((p) => p.seq > seq);
    const gone = this.pending.splice(0, keep < 0 ? this.pending.length : keep);
    for (const p of gone) this.weight -= noteWeight(p.note);
  }
}
