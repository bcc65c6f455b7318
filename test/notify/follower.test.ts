// The events file by position, with real files: where the first start begins, a line
// still being written, an overlong line, truncation while stopped, and the state file.

import test from 'ava';
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { Follower, MAX_LINE, readPosition, writePosition, type Position } from '../../src/notify/follower.js';

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

const texts = (f: Follower): string[] => f.poll().map((l) => l.text);

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

test('a line longer than the limit is skipped and said; the next line is read', (t) => {
  const s = setup(t);
  const f = s.followEmpty(t);
  fs.appendFileSync(s.file, `${'x'.repeat(MAX_LINE + 10)}\nnext\n`);
  t.deepEqual(texts(f), ['next']);
  t.deepEqual(s.notices, [`${s.file}: a line at offset 0 is longer than ${MAX_LINE} bytes; skipped`]);
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
