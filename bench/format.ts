/**
 * Printing helpers shared by the benchmarks: fixed-decimal number formatting ('-' for NaN and
 * infinities) and a plain text table.
 */

export const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-');
export const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');
export const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');

/** A plain text table: header + rows, columns right-aligned but the first. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
