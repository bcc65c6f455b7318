// The events file by position, with real files: where the first start begins, a line
// still being written, overlong lines (skipped unread, the position never inside one),
// the bound on a poll, truncation while stopped, and the state file.

import test from 'ava';
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import {
  Follower,
  MAX_BYTES_PER_POLL,
  MAX_LINE,
  READ_CHUNK,
  readPosition,
  writePosition,
  type Position,
} from '../../src/notify/follower.js';

interface Setup {
  file: string;
  state: string;
  notices: string[];
  follow(resume: Position | null): Follower;
  /** An empty events file followed from its first poll, as on a first start. */
  followEmpty(t: { deepEqual(a: unknown, b: unknown): void }): Follower;
}

function setup(t: { teardown(fn: () => void): void }): Setup {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scanlogd-follower-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const notices: string[] = [];
  const file = path.join(dir, 'events.json');
  return {
    file,
    state: path.join(dir, 'position'),
    notices,
    follow: (resume) => new Follower(file, resume, { notice: (n) => notices.push(n) }),
    followEmpty: (tt) => {
      fs.writeFileSync(file, '');
      const f = new Follower(file, null, { notice: (n) => notices.push(n) });
      tt.deepEqual(f.poll(), []);
      return f;
    },
  };
}

const texts = (f: Follower): Array<string | null> => f.poll().map((l) => l.text);
/** The lines of a few polls: a poll reads a bounded number of bytes. */
const drained = (f: Follower): Array<string | null> => [1, 2, 3, 4].flatMap(() => texts(f));

test('the first start begins at the end; a line still being written waits for its newline', (t) => {
  const s = setup(t);
  fs.writeFileSync(s.file, 'old 1\nold 2\npart');
  const f = s.follow(null);
  t.deepEqual(texts(f), []);
  fs.appendFileSync(s.file, 'ial\nnew\n');
  t.deepEqual(texts(f), ['partial', 'new']);
  t.deepEqual(f.position, { ino: fs.statSync(s.file).ino, offset: fs.statSync(s.file).size });
  t.deepEqual(s.notices, []);
});

test('each line knows where it starts and where the next one does', (t) => {
  const s = setup(t);
  const f = s.followEmpty(t);
  fs.appendFileSync(s.file, 'ab\ncde\n');
  const ino = fs.statSync(s.file).ino;
  t.deepEqual(f.poll(), [
    { text: 'ab', start: { ino, offset: 0 }, end: { ino, offset: 3 } },
    { text: 'cde', start: { ino, offset: 3 }, end: { ino, offset: 7 } },
  ]);
});

test('the longest line the daemon writes is read; one byte more is skipped unread, as a line of its own', (t) => {
  const s = setup(t);
  const f = s.followEmpty(t);
  const longest = 'x'.repeat(MAX_LINE - 1);
  fs.appendFileSync(s.file, `${longest}\n${longest}y\nnext\n`);
  const ino = fs.statSync(s.file).ino;
  t.deepEqual(f.poll(), [
    { text: longest, start: { ino, offset: 0 }, end: { ino, offset: MAX_LINE } },
    { text: null, start: { ino, offset: MAX_LINE }, end: { ino, offset: 2 * MAX_LINE + 1 } },
    { text: 'next', start: { ino, offset: 2 * MAX_LINE + 1 }, end: { ino, offset: 2 * MAX_LINE + 6 } },
  ]);
  t.deepEqual(s.notices, []);
});

test('a line longer than a read, and one still being written past the limit: skipped, the position stays at their start', (t) => {
  const s = setup(t);
  const f = s.followEmpty(t);
  const ino = fs.statSync(s.file).ino;
  const huge = 2 * READ_CHUNK + 5;
  fs.appendFileSync(s.file, `${'x'.repeat(huge)}\nnext\n`);
  t.deepEqual(drained(f), [null, 'next']);
  // A long line without its newline yet: nothing to hand on, and a restart would begin at its start.
  const before = fs.statSync(s.file).size;
  fs.appendFileSync(s.file, 'y'.repeat(MAX_LINE + 100));
  t.deepEqual(texts(f), []);
  t.deepEqual(f.position, { ino, offset: before });
  fs.appendFileSync(s.file, 'y'.repeat(READ_CHUNK));
  t.deepEqual(drained(f), []);
  t.deepEqual(f.position, { ino, offset: before });
  fs.appendFileSync(s.file, 'end\nafter\n');
  const lines = [1, 2, 3].flatMap(() => f.poll());
  t.deepEqual(
    lines.map((l) => [l.text, l.start.offset]),
    [
      [null, before],
      ['after', before + MAX_LINE + 100 + READ_CHUNK + 4],
    ],
  );
  t.deepEqual(f.position, { ino, offset: fs.statSync(s.file).size });
});

test('a poll reads a bounded number of bytes; the rest comes with the next polls, in order', (t) => {
  const s = setup(t);
  const f = s.followEmpty(t);
  const line = 'z'.repeat(999);
  const count = Math.ceil((3 * MAX_BYTES_PER_POLL) / 1000);
  fs.appendFileSync(s.file, `${line}\n`.repeat(count));
  const polls: number[] = [];
  for (let got = 0; got < count;) {
    const n = f.poll().length;
    t.true(n * 1000 <= MAX_BYTES_PER_POLL + READ_CHUNK, `${n} lines in one poll`);
    t.true(n > 0);
    polls.push(n);
    got += n;
  }
  t.true(polls.length >= 3, polls.join(', '));
  t.is(
    polls.reduce((a, b) => a + b, 0),
    count,
  );
});

test('a saved position resumes; one beyond the end (truncated while stopped) starts over and says so', (t) => {
  const s = setup(t);
  fs.writeFileSync(s.file, 'a\nb\nc\n');
  const ino = fs.statSync(s.file).ino;
  t.deepEqual(texts(s.follow({ ino, offset: 2 })), ['b', 'c']);
  t.deepEqual(texts(s.follow({ ino, offset: 100 })), ['a', 'b', 'c']);
  t.deepEqual(s.notices, [`${s.file} is shorter than the saved position (truncated while stopped); reading it from the start`]);
});

test('rotated while stopped and the old file gone: the new file from its start, and a notice', (t) => {
  const s = setup(t);
  fs.writeFileSync(s.file, 'new\n');
  t.deepEqual(texts(s.follow({ ino: fs.statSync(s.file).ino + 1, offset: 5 })), ['new']);
  t.regex(
    s.notices[0] as string,
    /was rotated while stopped and the file read before is not found as .*events\.json\.1; reading the new file from the start/,
  );
});

test('the state file: "INODE OFFSET", replaced atomically, private; a damaged one is an error that says what to do', (t) => {
  const s = setup(t);
  t.is(readPosition(s.state), null);
  writePosition(s.state, { ino: 42, offset: 4096 });
  t.is(fs.readFileSync(s.state, 'utf8'), '42 4096\n');
  t.is(fs.statSync(s.state).mode & 0o777, 0o600);
  t.false(fs.existsSync(`${s.state}.tmp`));
  t.deepEqual(readPosition(s.state), { ino: 42, offset: 4096 });
  fs.writeFileSync(s.state, '42 40');
  t.throws(() => readPosition(s.state), {
    message: `state file ${s.state}: not "INODE OFFSET"; remove it to start at the end of the events file`,
  });
});

test('emptied and written past the old position between two polls (copytruncate): noticed by the changed start, read again from 0', (t) => {
  const s = setup(t);
  const f = s.followEmpty(t);
  fs.appendFileSync(s.file, '{"event":"scan","n":1}\n');
  t.deepEqual(texts(f), ['{"event":"scan","n":1}']);
  fs.truncateSync(s.file, 0);
  fs.appendFileSync(s.file, '{"event":"scan","n":2,"longer":true}\n{"event":"scan","n":3}\n');
  t.deepEqual(texts(f), ['{"event":"scan","n":2,"longer":true}', '{"event":"scan","n":3}']);
  t.deepEqual(s.notices, [`${s.file} was truncated (copytruncate rotation); reading it again from the start`]);
  fs.appendFileSync(s.file, '{"event":"scan","n":4}\n');
  t.deepEqual(texts(f), ['{"event":"scan","n":4}'], 'an unchanged start is no rotation');
});

test('a saved position where no line starts (the file rewritten while stopped): the whole file, and a notice', (t) => {
  const s = setup(t);
  fs.writeFileSync(s.file, 'first line\nsecond\n');
  t.deepEqual(texts(s.follow({ ino: fs.statSync(s.file).ino, offset: 4 })), ['first line', 'second']);
  t.deepEqual(s.notices, [`${s.file} has no line starting at the saved position (rewritten while stopped); reading it from the start`]);
});
