// One channel's queue against a scripted sender: a refusal is not sent again and its
// events are said in the next message; a 429's wait replaces the backoff; the queue is
// bounded by events and by the ports and addresses they hold.

import test from 'ava';
import { DeliveryError, type Sender } from '../../src/notify/channels.js';
import type { Message, Undelivered } from '../../src/notify/digest.js';
import { noteWeight, type Note } from '../../src/notify/events.js';
import { MAX_PENDING_WEIGHT, Outbox, type OutboxReport } from '../../src/notify/outbox.js';
import { largestEvent } from '../../src/shared/events.js';
import { sleep, waitFor } from '../../harness/netns.js';
import { noteOf, scanEvent } from '../helpers/events.js';

const TIMING = { intervalMs: 50, waitMs: 0, timeoutMs: 1000, giveUpMs: 60000 };

interface Scene {
  box: Outbox;
  sent: Array<{ at: number; notes: number; undelivered: Undelivered | null }>;
  reports: string[];
}

/** An outbox whose sender answers each attempt from `answers` in turn (then delivers). */
function scene(answers: Array<DeliveryError | null>, timing = TIMING): Scene {
  const sent: Scene['sent'] = [];
  const reports: string[] = [];
  let lastUndelivered: Undelivered | null = null;
  let lastNotes = 0;
  const send: Sender = () => {
    sent.push({ at: performance.now(), notes: lastNotes, undelivered: lastUndelivered });
    const answer = answers.shift() ?? null;
    return answer === null ? Promise.resolve() : Promise.reject(answer);
  };
  const render = (notes: Note[], undelivered: Undelivered | null): Message => {
    lastNotes = notes.length;
    lastUndelivered = undelivered;
    return { title: 't', text: 'x', events: notes.length, sources: 1 };
  };
  const report: OutboxReport = {
    failed: (_c, f, attempt, retryIn) => reports.push(`failed ${f.summary} ${attempt} ${retryIn}`),
    refused: (_c, f, events) => reports.push(`refused ${f.summary} ${events}`),
    delivered: (_c, m, attempts) => reports.push(`delivered ${m.events} ${attempts}`),
    gaveUp: (_c, events, why) => reports.push(`gave up ${events}: ${why}`),
  };
  return { box: new Outbox('test', send, timing, render, report, () => undefined), sent, reports };
}

let seq = 0;
const add = (s: Scene, note: Note = noteOf(scanEvent('198.51.100.1', [1, 2], Date.now()))): void =>
  s.box.add({ seq: ++seq, note, start: { ino: 1, offset: seq }, arrivedMs: performance.now() });

test('a refused message is not sent again; its events are said in the next message', async (t) => {
  const s = scene([new DeliveryError('HTTP 400', 'invalid token', true)]);
  add(s);
  add(s);
  await waitFor('the refusal', () => (s.reports.length > 0 ? true : undefined));
  await sleep(300);
  t.is(s.sent.length, 1, 'not sent again');
  t.deepEqual(s.reports, ['refused HTTP 400 2']);
  t.is(s.box.oldest, null, 'nothing held for the refused channel');
  add(s);
  await waitFor('the next message', () => (s.sent.length === 2 ? true : undefined));
  t.deepEqual(s.sent[1]?.undelivered, { events: 2, why: 'refused by the service: HTTP 400' });
  await s.box.stop();
});

test("a 429's wait replaces the backoff", async (t) => {
  const s = scene([new DeliveryError('HTTP 429', null, false, 300)]);
  add(s);
  await waitFor('the retry', () => (s.sent.length === 2 ? true : undefined), 5000);
  const gap = (s.sent[1]?.at ?? 0) - (s.sent[0]?.at ?? 0);
  // The first backoff would be 2 s.
  t.true(gap >= 290 && gap < 1500, `${gap} ms`);
  t.deepEqual(s.reports, ['failed HTTP 429 1 300', 'delivered 1 2']);
  await s.box.stop();
});

test('the queue holds at most its weight in ports and addresses: the largest events the daemon writes are given up beyond it', async (t) => {
  // A sender that never answers: everything waits.
  const s = scene([], { ...TIMING, waitMs: 60000 });
  const largest = noteOf(largestEvent());
  const perNote = noteWeight(largest);
  t.true(perNote > 10000);
  for (let i = 0; i < 100; i++) add(s, largest);
  const held = Math.floor(MAX_PENDING_WEIGHT / perNote);
  const givenUp = s.reports.filter((r) => r.startsWith('gave up')).length;
  t.is(givenUp, 100 - held);
  t.is(s.reports[0], `gave up 1: more than ${MAX_PENDING_WEIGHT} ports and addresses waiting`);
  await s.box.stop();
});

test('the next message names every cause of what was lost here, each once', async (t) => {
  const s = scene([new DeliveryError('HTTP 413', null, true)]);
  const largest = noteOf(largestEvent());
  const held = Math.floor(MAX_PENDING_WEIGHT / noteWeight(largest));
  for (let i = 0; i < held + 5; i++) add(s, largest);
  await waitFor('the refusal', () => (s.reports.some((r) => r.startsWith('refused')) ? true : undefined));
  add(s);
  await waitFor('the next message', () => (s.sent.length === 2 ? true : undefined));
  t.deepEqual(s.sent[1]?.undelivered, {
    events: held + 5,
    why: `more than ${MAX_PENDING_WEIGHT} ports and addresses waiting; refused by the service: HTTP 413`,
  });
  await s.box.stop();
});
