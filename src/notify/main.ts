// scanlogd-notify: follows the events file, hands each event to every channel's
// outbox, and keeps the position up to which everything is dealt with (delivered,
// or given up and said) in the state file, so that a restart neither loses nor
// repeats a message. --check and --test look at the set-up and exit.

import os = require('node:os');
import { StartupError, describe, syscallText } from '../shared/errors.js';
import { DAEMON_INFO } from '../shared/logging.js';
import { printable } from '../shared/syslogframe.js';
import { asNotifier, lookAtEvents, lookAtState } from './access.js';
import { DeliveryError, senderFor } from './channels.js';
import { renderMessage, type Message, type Undelivered } from './digest.js';
import { parseLine, type Note } from './events.js';
import { Follower, MAX_LINE, readPosition, writePosition, type Line, type Position } from './follower.js';
import { Outbox, type OutboxReport } from './outbox.js';
import { channelName, parseNotifySettings, type NotifySettings } from './options.js';
import { IDENT, Repeats, sayer, type Say } from './report.js';

function samePosition(a: Position | null, b: Position | null): boolean {
  return a?.ino === b?.ino && a?.offset === b?.offset;
}

/** The host name messages give: the configured one, or this host's, printable either way. */
function hostName(s: NotifySettings): string {
  return printable(s.hostname ?? os.hostname());
}

const eventCount = (n: number): string => `${n} event${n === 1 ? '' : 's'}`;

/** How each outbox's events are told to the operator: failures through `repeats`, once per change. */
function outboxReport(repeats: Repeats): OutboxReport {
  return {
    // The gist is the failure in the notifier's words: an endpoint's answer may change every time.
    failed: (channel, failure, attempt, retryInMs) =>
      repeats.failed(
        channel,
        failure.summary,
        `${channel}: delivery failed (${failure.message}); attempt ${attempt}, next in ${Math.round(retryInMs / 1000)} s`,
      ),
    refused: (channel, failure, events) =>
      repeats.failed(
        channel,
        failure.summary,
        `${channel}: the message was refused (${failure.message}); not sent again: ${eventCount(events)} dropped for this channel, the next message says so`,
      ),
    delivered: (channel, m, attempts) => {
      if (repeats.failing(channel))
        repeats.recovered(
          channel,
          `${channel}: delivered ${attempts > 1 ? `after ${attempts} attempts` : 'again'} (${eventCount(m.events)})`,
        );
    },
    gaveUp: (channel, events, why) =>
      repeats.failed(`${channel} queue`, why, `${channel}: ${eventCount(events)} dropped: ${why}; the next message says so`),
  };
}

class Notifier {
  private readonly say: Say;
  private readonly repeats: Repeats;
  private readonly follower: Follower;
  private readonly outboxes: Outbox[] = [];
  private saved: Position | null;
  private following = false;
  private seq = 0;
  /** Lines of the events file refused, from the start. */
  private refused = 0;

  constructor(private readonly s: NotifySettings) {
    this.say = sayer(s.syslogSocket);
    this.repeats = new Repeats(this.say);
    try {
      this.saved = readPosition(s.state);
    } catch (err) {
      throw new StartupError(describe(err));
    }
    this.follower = new Follower(s.events, this.saved, { notice: (text) => this.say(text, DAEMON_INFO) });
    const host = hostName(s);
    const report = outboxReport(this.repeats);
    for (const c of s.channels) {
      const render = (notes: Note[], undelivered: Undelivered | null): Message => renderMessage(notes, host, new Date(), undelivered);
      this.outboxes.push(new Outbox(channelName(c), senderFor(c), s, render, report, () => this.commit()));
    }
  }

  /** Saves the position before the earliest event some channel still holds, or else the reader's. */
  commit(): void {
    let earliest: { seq: number; start: Position } | null = null;
    for (const o of this.outboxes) {
      const p = o.oldest;
      if (p !== null && (earliest === null || p.seq < earliest.seq)) earliest = p;
    }
    const position = earliest?.start ?? this.follower.position;
    if (position === null || samePosition(position, this.saved)) return;
    try {
      writePosition(this.s.state, position);
      this.saved = position;
      this.repeats.recovered('state file', `state file ${this.s.state} can be written again`);
    } catch (err) {
      this.repeats.failed(
        'state file',
        (err as NodeJS.ErrnoException).code ?? describe(err),
        `state file ${this.s.state}: ${describe(err)}; a restart now would deliver some events again`,
      );
    }
  }

  /** Reads what is new; the first poll that reads the file (or finds it absent) starts the following. */
  poll(): void {
    let lines: Line[];
    try {
      lines = this.follower.poll();
    } catch (err) {
      this.repeats.failed('events file', (err as NodeJS.ErrnoException).code ?? describe(err), `${this.s.events}: ${syscallText(err)}`);
      return;
    }
    this.repeats.recovered('events file', `${this.s.events} can be read again`);
    if (!this.following) {
      this.following = true;
      this.say(`following ${this.s.events}; channels: ${this.s.channels.map(channelName).join(', ')}`, DAEMON_INFO);
    }
    const now = performance.now();
    for (const line of lines) this.take(line, now);
    this.commit();
  }

  private take(line: Line, now: number): void {
    const verdict =
      line.text === null
        ? { kind: 'bad' as const, gist: 'length', why: `longer than ${MAX_LINE} bytes, the longest event scanlogd writes` }
        : parseLine(line.text);
    if (verdict.kind === 'bad') {
      this.refused++;
      this.repeats.failed(
        'events file lines',
        verdict.gist,
        `${this.s.events}: line at offset ${line.start.offset} skipped: ${verdict.why} (${this.refused} refused so far)`,
      );
    } else if (verdict.kind === 'note') {
      this.seq++;
      for (const o of this.outboxes) o.add({ seq: this.seq, note: verdict.note, start: line.start, arrivedMs: now });
    }
  }

  /** Waits for the attempts under way, saves the position, and exits 0. */
  stop(): void {
    void Promise.all(this.outboxes.map((o) => o.stop())).then(() => {
      this.commit();
      this.follower.close();
      process.exit(0);
    });
  }
}

export function runNotifier(s: NotifySettings): void {
  if (process.getuid?.() === 0) {
    throw new StartupError(`refusing to run as root: it needs no privilege; run it as its own user (the packages create ${IDENT})`);
  }
  // The name init scripts find it by (start-stop-daemon --name; at most 15 characters).
  process.title = IDENT;
  const notifier = new Notifier(s);
  notifier.poll();
  const timer = setInterval(() => notifier.poll(), s.pollMs);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    notifier.stop();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', stop);
}

/** --check: the configuration (read already), then the events file and the state directory as the notifier's user. */
function check(s: NotifySettings): void {
  process.stdout.write(`${s.config ?? 'no configuration file'}: ${s.channels.map(channelName).join(', ')}\n`);
  const { result, as } = asNotifier(() => [lookAtEvents(s.events), lookAtState(s.state)]);
  for (const line of result) process.stdout.write(`${line} (as ${as})\n`);
}

/** --test: one message through each channel; the exit status says whether all took it. */
async function sendTest(s: NotifySettings): Promise<number> {
  const host = hostName(s);
  const message: Message = {
    title: `${host}: scanlogd-notify test`,
    text: `A test message from scanlogd-notify on ${host}. If you read this, this channel works.`,
    events: 0,
    sources: 0,
  };
  const results = await Promise.all(
    s.channels.map(async (c) => {
      try {
        await senderFor(c)(message, s.timeoutMs);
        return { channel: channelName(c), failure: null };
      } catch (err) {
        return { channel: channelName(c), failure: err instanceof DeliveryError ? err.message : describe(err) };
      }
    }),
  );
  for (const r of results)
    process.stdout.write(`${printable(`${r.channel}: ${r.failure === null ? 'accepted' : `FAILED (${r.failure})`}`)}\n`);
  return results.every((r) => r.failure === null) ? 0 : 1;
}

export function main(argv: readonly string[]): void {
  const fail = (err: unknown): never => {
    process.stderr.write(`${IDENT}: ${printable(describe(err))}\n`);
    if (!(err instanceof StartupError)) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    process.exit(1);
  };
  try {
    const settings = parseNotifySettings(argv);
    switch (settings.mode) {
      case 'check':
        check(settings);
        process.exit(0);
        break;
      case 'test':
        sendTest(settings).then((code) => process.exit(code), fail);
        break;
      case 'run':
        runNotifier(settings);
    }
  } catch (err) {
    fail(err);
  }
}
