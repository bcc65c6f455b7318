// scanlogd-notify: follows the events file, hands each event to every channel's
// outbox, and keeps the position up to which everything is dealt with (delivered,
// or given up and said) in the state file, so that a restart neither loses nor
// repeats a message.

import os = require('node:os');
import { StartupError, describe } from '../shared/errors.js';
import { channelName, parseNotifySettings, type NotifySettings } from './options.js';
import { senderFor } from './channels.js';
import { renderMessage } from './digest.js';
import { parseLine } from './events.js';
import { Follower, readPosition, writePosition, type Position } from './follower.js';
import { Outbox } from './outbox.js';
import { syslogDatagram, syslogSocketConnector } from '../monitor/syslog.js';

const IDENT = 'scanlogd-notify';
/** daemon.err and daemon.info, as syslog(3) numbers them. */
const DAEMON_ERR = 3 * 8 + 3;
const DAEMON_INFO = 3 * 8 + 6;

type Say = (text: string, priority?: number) => void;

function sayer(syslogSocket: string | null): Say {
  const connect = syslogSocket === null ? null : syslogSocketConnector();
  return (text, priority = DAEMON_ERR) => {
    process.stderr.write(`${IDENT}: ${text}\n`);
    if (syslogSocket === null || connect === null) return;
    try {
      const sock = connect(syslogSocket);
      sock.send(syslogDatagram(text, new Date(), priority, IDENT));
      sock.close();
    } catch {
      // Standard error has it; a syslog daemon that is away is no reason to stop.
    }
  };
}

function samePosition(a: Position | null, b: Position | null): boolean {
  return a?.ino === b?.ino && a?.offset === b?.offset;
}

export function runNotifier(s: NotifySettings): void {
  if (process.getuid?.() === 0) {
    throw new StartupError(`refusing to run as root: it needs no privilege; run it as its own user (the packages create ${IDENT})`);
  }
  // The name init scripts find it by (start-stop-daemon --name; at most 15 characters).
  process.title = IDENT;
  const say = sayer(s.syslogSocket);
  let saved: Position | null;
  try {
    saved = readPosition(s.state);
  } catch (err) {
    throw new StartupError(describe(err));
  }
  const follower = new Follower(s.events, saved, { notice: (text) => say(text, DAEMON_INFO) });
  const host = s.hostname ?? os.hostname();
  let stateFailing = false;
  const outboxes: Outbox[] = [];

  /** Saves the position before the earliest event some channel still holds, or else the reader's. */
  const commit = (): void => {
    let earliest: { seq: number; start: Position } | null = null;
    for (const o of outboxes) {
      const p = o.oldest;
      if (p !== null && (earliest === null || p.seq < earliest.seq)) earliest = p;
    }
    const position = earliest?.start ?? follower.position;
    if (position === null || samePosition(position, saved)) return;
    try {
      writePosition(s.state, position);
      saved = position;
      if (stateFailing) say(`state file ${s.state} can be written again`, DAEMON_INFO);
      stateFailing = false;
    } catch (err) {
      if (!stateFailing) say(`state file ${s.state}: ${describe(err)}; a restart now would deliver some events again`);
      stateFailing = true;
    }
  };

  for (const c of s.channels) {
    outboxes.push(
      new Outbox(
        channelName(c),
        senderFor(c),
        s,
        (notes, undelivered) => renderMessage(notes, host, new Date(), undelivered),
        {
          failed: (channel, why, attempt, retryInMs) =>
            say(`${channel}: delivery failed (${why}); attempt ${attempt}, next in ${Math.round(retryInMs / 1000)} s`),
          delivered: (channel, m, attempts) => {
            if (attempts > 1) say(`${channel}: delivered after ${attempts} attempts (${m.events} events)`, DAEMON_INFO);
          },
          gaveUp: (channel, events, why) => say(`${channel}: ${events} events dropped: ${why}; the next message says so`),
        },
        commit,
      ),
    );
  }

  let seq = 0;
  const poll = (): void => {
    let lines;
    try {
      lines = follower.poll();
    } catch (err) {
      say(`${s.events}: ${describe(err)}`);
      return;
    }
    const now = performance.now();
    for (const line of lines) {
      const verdict = parseLine(line.text);
      if (verdict.kind === 'bad') {
        say(`${s.events}: line at offset ${line.start.offset} skipped: ${verdict.why}`);
      } else if (verdict.kind === 'note') {
        seq++;
        for (const o of outboxes) o.add({ seq, note: verdict.note, start: line.start, arrivedMs: now });
      }
    }
    commit();
  };

  // The first poll fixes where reading starts; only then is the file being followed.
  poll();
  say(`following ${s.events}; channels: ${s.channels.map(channelName).join(', ')}`, DAEMON_INFO);
  const timer = setInterval(poll, s.pollMs);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    void Promise.all(outboxes.map((o) => o.stop())).then(() => {
      commit();
      follower.close();
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', stop);
}

export function main(argv: readonly string[]): void {
  let settings: NotifySettings;
  try {
    settings = parseNotifySettings(argv);
    if (settings.check) {
      process.stdout.write(`${settings.config ?? 'no configuration file'}: ${settings.channels.map(channelName).join(', ')}\n`);
      process.exit(0);
    }
    runNotifier(settings);
  } catch (err) {
    process.stderr.write(`${IDENT}: ${describe(err)}\n`);
    if (!(err instanceof StartupError)) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    process.exit(1);
  }
}
