// The bounds SECURITY.md gives as figures, checked against the constants the code uses
// by default and against the sentence that states each: one cannot change without the
// other.

import test from 'ava';
import fs = require('node:fs');
import path = require('node:path');
import { CHANNEL_BACKLOG_LIMIT } from '../../src/capture/channel.js';
import { JSON_QUEUE_LIMIT } from '../../src/monitor/jsonout.js';
import { CEE_MAX_BYTES } from '../../src/monitor/cee.js';
import { MAX_PENDING, MAX_PENDING_WEIGHT } from '../../src/notify/outbox.js';

const SECURITY = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'SECURITY.md'), 'utf8').replace(/\s+/g, ' ');
const MiB = 1024 * 1024;

const figures: Array<[string, number, number, RegExp]> = [
  ['records waiting in the capture process', CHANNEL_BACKLOG_LIMIT, 4 * MiB, /at most 4 MiB of records wait in the capture process/],
  ['the --json queue', JSON_QUEUE_LIMIT, 4 * MiB, /dropped, counted lines beyond a 4 MiB queue/],
  ['a --json-syslog event', CEE_MAX_BYTES, 2048, /each at most 2048 bytes/],
  ["a notifier channel's events", MAX_PENDING, 10_000, /10,000 events and 500,000 ports and addresses per channel/],
  ["a notifier channel's ports and addresses", MAX_PENDING_WEIGHT, 500_000, /10,000 events and 500,000 ports and addresses per channel/],
];

for (const [what, constant, stated, sentence] of figures) {
  test(`SECURITY.md's bound on ${what} is the code's: ${stated}`, (t) => {
    t.is(constant, stated);
    t.regex(SECURITY, sentence);
  });
}
