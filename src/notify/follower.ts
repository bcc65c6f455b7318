// Following the events file the way `tail -F` does, but by position: which file
// (inode) and how far into it (byte offset, always just after a newline). The
// position survives a restart in the state file, and rotation in both forms: rename
// (a new file appears under the name; the old one is read to its end first) and
// copytruncate (the file shrinks under the reader; reading starts over at 0).

import fs = require('node:fs');
import path = require('node:path');
import { maxEventLineBytes } from '../shared/events.js';

export interface Position {
  ino: number;
  offset: number;
}

export interface Line {
  /** Null for a line longer than any event the daemon writes: skipped unread. */
  text: string | null;
  /** Where the line starts and where the next one does. */
  start: Position;
  end: Position;
}

export interface FollowerReport {
  /** Something a person should know: waiting for the file, a rotation, a line skipped. */
  notice(text: string): void;
}

/** Bytes read at once: many lines per read, and always more than the longest line. */
export const READ_CHUNK = 1024 * 1024;
/** A longer line (its newline included) is not an event the daemon can write; it is skipped unread. */
export const MAX_LINE = maxEventLineBytes();
/**
 * Per poll at most (a chunk over): lines and bytes of lines handed on, which is what a
 * poll holds in memory, and bytes read, lines skipped unread included, which is what it
 * costs in time. A backlog is read over several polls.
 */
export const MAX_LINES_PER_POLL = 10000;
export const MAX_BYTES_PER_POLL = 2 * READ_CHUNK;
export const MAX_READ_PER_POLL = 64 * READ_CHUNK;

interface OpenFile {
  fd: number;
  ino: number;
  offset: number;
  name: string;
  /**
   * The file's first bytes as read: lines before the offset never change in a file
   * that is only appended to, so different bytes there mean it was emptied and
   * written again between two polls (copytruncate), even if it is longer now.
   */
  head: Buffer | null;
  /** Where an overlong line began, while its end has not been read yet; else null. */
  skipping: number | null;
}

/** Bytes of a file's start compared at each poll; shorter than any event line. */
const HEAD_BYTES = 64;

/** Reads the state file; null when there is none yet. A damaged one is an error. */
export function readPosition(file: string): Position | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`state file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const m = /^(\d+) (\d+)\n$/.exec(text);
  if (m === null) throw new Error(`state file ${file}: not "INODE OFFSET"; remove it to start at the end of the events file`);
  return { ino: Number(m[1]), offset: Number(m[2]) };
}

/** Replaces the state file in one step (write, fsync, rename), so a crash leaves the old or the new one. */
export function writePosition(file: string, p: Position): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o600);
  try {
    fs.writeSync(fd, `${p.ino} ${p.offset}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dir = fs.openSync(path.dirname(file), fs.constants.O_RDONLY);
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

function openIno(name: string): OpenFile | null {
  let fd: number;
  try {
    fd = fs.openSync(name, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw new Error(`${name}: not a regular file`);
  }
  return { fd, ino: st.ino, offset: 0, name, head: null, skipping: null };
}

function inoOf(name: string): number | null {
  try {
    return fs.statSync(name).ino;
  } catch {
    return null;
  }
}

export class Follower {
  /** The file under the name, being read. */
  private current: OpenFile | null = null;
  /** A renamed file whose rest is read before the current one. */
  private previous: OpenFile | null = null;
  private waitingSaid = false;
  /** Where reading starts once the file is first opened; null: at its end (no state yet). */
  private resume: Position | null;
  private firstOpen = true;
  /** One read buffer for the life of the follower: a poll every half second allocates nothing. */
  private readonly buf = Buffer.alloc(READ_CHUNK);

  constructor(
    readonly file: string,
    resume: Position | null,
    private readonly report: FollowerReport,
  ) {
    this.resume = resume;
  }

  /** The start of the next line not returned yet: where a restart would go on. */
  get position(): Position | null {
    const f = this.previous ?? this.current;
    return f === null ? null : { ino: f.ino, offset: f.skipping ?? f.offset };
  }

  close(): void {
    for (const f of [this.previous, this.current]) if (f !== null) fs.closeSync(f.fd);
    this.previous = null;
    this.current = null;
  }

  /** The complete lines written since the last poll, in order. */
  poll(): Line[] {
    const lines: Line[] = [];
    if (this.current === null && this.open() === null) return lines;
    if (this.previous !== null) {
      if (!this.readFrom(this.previous, lines)) return lines;
      this.finish(this.previous);
      this.previous = null;
    }
    const cur = this.current as OpenFile;
    const size = fs.fstatSync(cur.fd).size;
    if (size < cur.offset || !this.sameHead(cur)) {
      this.report.notice(`${this.file} was truncated (copytruncate rotation); reading it again from the start`);
      cur.offset = 0;
      cur.head = null;
    }
    if (!this.readFrom(cur, lines)) return lines;
    // At the end of this file: has a new one taken its name? Until one has, the
    // writer may still be appending to this one under its new name.
    const ino = inoOf(this.file);
    if (ino !== null && ino !== cur.ino) {
      this.finish(cur);
      this.report.notice(`${this.file} was replaced (rotation); reading the new file from the start`);
      this.current = null;
      const next = this.open();
      if (next !== null) this.readFrom(next, lines);
    }
    return lines;
  }

  /** Opens the file under the name, placing the first read by the saved position. */
  private open(): OpenFile | null {
    const f = openIno(this.file);
    if (f === null) {
      if (!this.waitingSaid) this.report.notice(`${this.file} does not exist (yet); waiting for it`);
      this.waitingSaid = true;
      this.firstOpen = false;
      return null;
    }
    if (this.waitingSaid) this.report.notice(`${this.file} is there now; reading it from the start`);
    this.waitingSaid = false;
    const resume = this.resume;
    this.resume = null;
    const size = fs.fstatSync(f.fd).size;
    if (this.firstOpen && resume === null) {
      // First start: what the file held before is old news.
      f.offset = this.lineStartAtOrBefore(f, size);
    } else if (resume !== null && resume.ino === f.ino) {
      if (resume.offset > size)
        this.report.notice(`${this.file} is shorter than the saved position (truncated while stopped); reading it from the start`);
      else if (!this.lineStartsAt(f, resume.offset)) {
        this.report.notice(`${this.file} has no line starting at the saved position (rewritten while stopped); reading it from the start`);
      } else f.offset = resume.offset;
    } else if (resume !== null) {
      this.previous = this.findRotated(resume);
      if (this.previous === null) {
        this.report.notice(
          `${this.file} was rotated while stopped and the file read before is not found as ${this.file}.1; reading the new file from the start`,
        );
      }
    }
    this.firstOpen = false;
    this.current = f;
    return f;
  }

  /** Whether a line starts at `offset`: the file's start, or just after a newline. */
  private lineStartsAt(f: OpenFile, offset: number): boolean {
    if (offset === 0) return true;
    const byte = Buffer.alloc(1);
    return fs.readSync(f.fd, byte, 0, 1, offset - 1) === 1 && byte[0] === 0x0a;
  }

  /** Whether the bytes before the offset are still those read (see OpenFile.head). */
  private sameHead(f: OpenFile): boolean {
    const want = Math.min(f.offset, HEAD_BYTES);
    if (want === 0) return true;
    const now = Buffer.alloc(want);
    const n = fs.readSync(f.fd, now, 0, want, 0);
    if (f.head === null || f.head.length < want) {
      // First sight of these bytes (or more of them): they are the reference from now on.
      if (f.head !== null && !now.subarray(0, f.head.length).equals(f.head)) return false;
      f.head = now.subarray(0, n);
      return true;
    }
    return n === want && now.equals(f.head.subarray(0, want));
  }

  /** logrotate's first generation, if it is the file the saved position belongs to. */
  private findRotated(resume: Position): OpenFile | null {
    const f = openIno(`${this.file}.1`);
    if (f === null) return null;
    if (f.ino !== resume.ino || resume.offset > fs.fstatSync(f.fd).size) {
      fs.closeSync(f.fd);
      return null;
    }
    f.offset = resume.offset;
    this.report.notice(`${this.file} was rotated while stopped; reading the rest of ${f.name} first`);
    return f;
  }

  /** The end of the file, or the start of the line being written there. */
  private lineStartAtOrBefore(f: OpenFile, size: number): number {
    const tail = Buffer.alloc(Math.min(size, MAX_LINE));
    const n = fs.readSync(f.fd, tail, 0, tail.length, size - tail.length);
    const nl = tail.subarray(0, n).lastIndexOf(0x0a);
    return nl < 0 ? size - n : size - n + nl + 1;
  }

  private finish(f: OpenFile): void {
    const size = fs.fstatSync(f.fd).size;
    if (size > f.offset) this.report.notice(`${f.name}: ${size - f.offset} bytes at its end are not a complete line; skipped`);
    fs.closeSync(f.fd);
  }

  /** Appends the complete lines from `f`; true when it reached the end of the file. */
  private readFrom(f: OpenFile, lines: Line[]): boolean {
    const buf = this.buf;
    let read = 0;
    let handed = 0;
    for (;;) {
      const n = fs.readSync(f.fd, buf, 0, buf.length, f.offset);
      if (n === 0) return true;
      read += n;
      const chunk = buf.subarray(0, n);
      let start = 0;
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
        const end = { ino: f.ino, offset: f.offset + nl + 1 };
        if (f.skipping !== null) {
          lines.push({ text: null, start: { ino: f.ino, offset: f.skipping }, end });
          f.skipping = null;
        } else {
          // Longer than any event: not even decoded.
          const text = nl + 1 - start > MAX_LINE ? null : chunk.toString('utf8', start, nl);
          if (text !== null) handed += nl - start;
          lines.push({ text, start: { ino: f.ino, offset: f.offset + start }, end });
        }
        start = nl + 1;
      }
      // The start of the file as read, kept (copied out of the shared buffer) to see a
      // copytruncate that the next poll would otherwise miss.
      if (f.head === null && f.offset === 0 && start > 0) f.head = Buffer.from(chunk.subarray(0, Math.min(start, HEAD_BYTES)));
      if (start === 0 && f.skipping === null && n < buf.length) return true; // a line still being written
      if (start === 0 || (f.skipping === null && n - start > MAX_LINE)) {
        // No newline within a whole chunk, or a tail longer than any event: the line
        // is skipped as it is read, and the position stays at its start until its end.
        f.skipping ??= f.offset + start;
        f.offset += n;
      } else {
        f.offset += start;
      }
      if (n < buf.length) return true;
      // The rest waits for the next poll, so that one poll holds a bounded amount.
      if (lines.length >= MAX_LINES_PER_POLL || handed >= MAX_BYTES_PER_POLL || read >= MAX_READ_PER_POLL) return false;
    }
  }
}
