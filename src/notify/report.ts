// What the notifier tells its operator: one line on standard error and, with --syslog,
// in syslog, always printable ASCII whatever an endpoint or a line of the events file
// held. A failure that persists is said once and counted, then said again only when it
// changes or an hour has passed, so that a file it cannot read or an endpoint that is
// down costs a line an hour, not one a poll.

import { DAEMON_ERR, DAEMON_INFO } from '../shared/logging.js';
import { clockTime, printable, syslogDatagram } from '../shared/syslogframe.js';
import { syslogSocketConnector, type DatagramConnector } from '../shared/syslogsock.js';

export const IDENT = 'scanlogd-notify';

/** A line for the operator, at a syslog priority (daemon.err unless said otherwise). */
export type Say = (text: string, priority?: number) => void;

/** Sends one datagram to a syslog socket; throws when it cannot. */
export type DatagramSend = (socketPath: string, datagram: Buffer) => void;

/**
 * A connection per report, so that a syslog daemon restarted in between is no matter.
 * The addon is loaded here, at start: a missing one is said then, not lost later.
 */
export function datagramSender(connect: DatagramConnector = syslogSocketConnector()): DatagramSend {
  return (socketPath, datagram) => {
    const sock = connect(socketPath);
    try {
      const result = sock.send(datagram);
      if (result !== 'sent') throw new Error(`syslog socket ${socketPath}: ${result}`);
    } finally {
      sock.close();
    }
  };
}

/** `send` is the real socket unless a test gives another; it is made only when there is a syslog socket. */
export function sayer(
  syslogSocket: string | null,
  send: DatagramSend | null = null,
  stderr: { write(text: string): unknown } = process.stderr,
): Say {
  const sendTo = syslogSocket === null ? null : (send ?? datagramSender());
  return (text, priority = DAEMON_ERR) => {
    const line = printable(text);
    stderr.write(`${IDENT}: ${line}\n`);
    if (syslogSocket === null || sendTo === null) return;
    try {
      sendTo(syslogSocket, syslogDatagram(line, new Date(), priority, IDENT));
    } catch {
      // Standard error has it; a syslog daemon that is away is no reason to stop.
    }
  };
}

/** How often a failure that goes on unchanged is said again, with its count. */
export const REPEAT_EVERY_MS = 60 * 60 * 1000;

interface Condition {
  /** What the failure said last, in a form that does not change from one occurrence to the next. */
  gist: string;
  saidAtMs: number;
  /** Occurrences since the last line said, not said themselves. */
  unsaid: number;
}

/** Failures by what failed (a channel, the events file, the state file): a set the configuration fixes. */
export class Repeats {
  private readonly conditions = new Map<string, Condition>();

  constructor(
    private readonly say: Say,
    private readonly nowMs: () => number = Date.now,
    private readonly everyMs = REPEAT_EVERY_MS,
  ) {}

  /**
   * One occurrence of a failure of `what`. `text` is said when the failure is new, when
   * its `gist` differs from the last one said, or when that was `everyMs` ago; with the
   * count of occurrences in between. Otherwise it is only counted.
   */
  failed(what: string, gist: string, text: string): void {
    const now = this.nowMs();
    const c = this.conditions.get(what);
    if (c !== undefined && c.gist === gist && now - c.saidAtMs < this.everyMs) {
      c.unsaid++;
      return;
    }
    this.say(c !== undefined && c.unsaid > 0 ? `${text} (${c.unsaid} more since ${clockTime(new Date(c.saidAtMs))})` : text, DAEMON_ERR);
    this.conditions.set(what, { gist, saidAtMs: now, unsaid: 0 });
  }

  /** Whether a failure of `what` is current (said, and not recovered from). */
  failing(what: string): boolean {
    return this.conditions.has(what);
  }

  /** `what` works again: `text` is said if a failure of it was, with the count not said yet. */
  recovered(what: string, text: string): void {
    const c = this.conditions.get(what);
    if (c === undefined) return;
    this.conditions.delete(what);
    this.say(c.unsaid > 0 ? `${text} (after ${c.unsaid} more failures since ${clockTime(new Date(c.saidAtMs))})` : text, DAEMON_INFO);
  }
}
