// Small numeric helpers and plain-text tables for the benchmark report.

export function median(values: number[]): number {
  return quantile(values, 0.5);
}

/** Linear interpolation between closest ranks; NaN for no values. */
export function quantile(values: number[], q: number): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const pos = (v.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (v[lo] as number) + ((v[hi] as number) - (v[lo] as number)) * (pos - lo);
}

export function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

export function kilo(x: number): string {
  if (!Number.isFinite(x)) return '-';
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e4) return `${Math.round(x / 1e3)}k`;
  return String(Math.round(x));
}

export function percent(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(x > 0 && x < 0.001 ? 3 : 2)}%` : '-';
}

/** ours / reference, with the cases where a plain division would mislead. */
export function ratio(ours: number, reference: number, digits = 2): string {
  if (!Number.isFinite(ours) || !Number.isFinite(reference)) return '-';
  if (reference === 0) return ours === 0 ? 'both 0' : 'ref 0';
  return `${(ours / reference).toFixed(digits)}x`;
}

/** Left-aligned first column, right-aligned others, two spaces apart. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
