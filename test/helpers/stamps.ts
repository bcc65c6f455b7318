// The start stamp ("@HH:MM:SS") of lines written by two daemons that saw the same
// packets. Each reads the wall clock itself, at its own moment, so near a second
// boundary their stamps can differ by one second while every other byte matches.

const START_STAMP = / @(\d\d):(\d\d):(\d\d)$/;

/**
 * `lines`, except that a line which differs from `other`'s line at the same index only
 * by its start stamp, `lines`' stamp being one of `skews` seconds after `other`'s, is
 * replaced by `other`'s line; each such line is listed in `forgiven`. Anything else,
 * including any other skew, is left to differ.
 */
export function forgiveBoundaryStamps(lines: string[], other: string[], skews: readonly number[]): { lines: string[]; forgiven: string[] } {
  const forgiven: string[] = [];
  const compared = lines.map((line, i) => {
    const theirs = other[i];
    const a = START_STAMP.exec(line);
    const b = theirs === undefined ? null : START_STAMP.exec(theirs);
    if (theirs === undefined || a === null || b === null || line.slice(0, a.index) !== theirs.slice(0, b.index)) return line;
    const seconds = (m: RegExpExecArray): number => Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
    const skew = ((seconds(a) - seconds(b) + 86400 + 43200) % 86400) - 43200;
    if (!skews.includes(skew)) return line;
    forgiven.push(`${line} (other: @${b.slice(1).join(':')})`);
    return theirs;
  });
  return { lines: compared, forgiven };
}
