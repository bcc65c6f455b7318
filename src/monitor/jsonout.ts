// Structured events as JSON lines on a descriptor the capture process opened: a
// bounded queue and one write at a time, so that a full disk or a closed reader costs
// dropped (and counted) lines, never detection or syslog.

import fs = require('node:fs');

/** Bytes waiting to be written at most; lines beyond are dropped and counted. */
export const JSON_QUEUE_LIMIT = 4 * 1024 * 1024;

export interface JsonOutputReport {
  /** Writing failed (or the queue filled); lines are dropped until it works again. */
  failing(why: string): void;
  /** Writing works again after `dropped` lines were lost. */
  recovered(dropped: number): void;
}

export class JsonOutput {
  written = 0;
  dropped = 0;
  private queue: string[] = [];
  private queuedBytes = 0;
  private writing = false;
  /** Lines in the write under way. */
  private inFlight = 0;
  /** Lines dropped since the current failure began, or -1 while all is well. */
  private streak = -1;
  private closed = false;

  constructor(
    private readonly fd: number,
    private readonly report: JsonOutputReport,
    private readonly limit = JSON_QUEUE_LIMIT,
  ) {}

  write(line: string): void {
    if (this.closed) return;
    if (this.queuedBytes + line.length > this.limit) {
      this.drop(1, `more than ${this.limit} bytes waiting to be written`);
      return;
    }
    this.queue.push(line);
    this.queuedBytes += line.length;
    if (!this.writing) this.flush();
  }

  /** Lines waiting to be written or being written. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
  }

  private drop(lines: number, why: string): void {
    this.dropped += lines;
    if (this.streak < 0) {
      this.streak = 0;
      this.report.failing(why);
    }
    this.streak += lines;
  }

  private flush(): void {
    if (this.queue.length === 0 || this.closed) return;
    const lines = this.queue.length;
    const data = Buffer.from(this.queue.join(''), 'utf8');
    this.queue = [];
    this.queuedBytes = 0;
    this.writing = true;
    this.inFlight = lines;
    this.writeAll(data, 0, lines);
  }

  private writeAll(data: Buffer, offset: number, lines: number): void {
    fs.write(this.fd, data, offset, data.length - offset, null, (err, bytes) => {
      if (this.closed) return;
      if (err === null && offset + bytes < data.length) {
        this.writeAll(data, offset + bytes, lines);
        return;
      }
      this.writing = false;
      this.inFlight = 0;
      if (err !== null) {
        // A line cut by a failed write would corrupt the stream for its reader; the
        // whole batch counts as dropped, and O_APPEND puts the next line after it.
        this.drop(lines, `${err.code ?? err.message}`);
      } else {
        this.written += lines;
        if (this.streak >= 0) {
          const lost = this.streak;
          this.streak = -1;
          this.report.recovered(lost);
        }
      }
      this.flush();
    });
  }
}
