/**
 * Small statistics and formatting helpers shared by the packages' benchmarks (`pnpm bench`).
 * Dependency-free; import it by relative path, e.g. `../../../tooling/bench/stats.ts`.
 */

/** The value at quantile `q` (0..1) of the samples, by linear interpolation. */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const position = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = sorted[below] as number;
  const high = sorted[above] as number;
  return low + (high - low) * (position - below);
}

/** The median of the samples. */
export function median(samples: readonly number[]): number {
  return percentile(samples, 0.5);
}

/** Median, minimum and maximum of a set of samples, and their spread relative to the median. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max - min) / median, e.g. 0.04 for a 4 % spread. */
  readonly spread: number;
}

/** Summarises samples (such as the ops/s of several rounds). */
export function summarize(samples: readonly number[]): Summary {
  const mid = median(samples);
  const min = Math.min(...samples);
  const max = Math.max(...samples);
  return { median: mid, min, max, spread: mid === 0 ? 0 : (max - min) / mid };
}

/** A rate in operations per second, e.g. `1.23 M/s` or `456 k/s`. */
export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k/s`;
  return `${perSecond.toFixed(0)} /s`;
}

/** A byte count, e.g. `312 B`, `4.5 KiB`, `12.3 MiB`. */
export function formatBytes(bytes: number): string {
  const abs = Math.abs(bytes);
  if (abs >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (abs >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes.toFixed(0)} B`;
}

/** A duration given in milliseconds, with a unit that keeps 3 significant digits. */
export function formatDuration(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  if (ms >= 0.001) return `${(ms * 1000).toFixed(1)} µs`;
  return `${(ms * 1e6).toFixed(0)} ns`;
}

/** A ratio such as `2.41x`. */
export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(2)}x`;
}

/** Cells right-aligned when they look numeric, left-aligned otherwise. */
export type Alignment = 'left' | 'right';

/**
 * A GitHub-flavoured Markdown table. Columns whose body cells all start with a digit (or a sign)
 * are right-aligned unless `align` says otherwise.
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align?: readonly Alignment[],
): string {
  const columns = header.length;
  const alignment = header.map(
    (_, c) =>
      align?.[c] ??
      (rows.length > 0 && rows.every((row) => /^[-+]?[\d.]/.test(row[c] ?? '')) ? 'right' : 'left'),
  );
  const widths = header.map((title, c) =>
    Math.max(3, title.length, ...rows.map((row) => (row[c] ?? '').length)),
  );
  const cell = (text: string, c: number): string =>
    alignment[c] === 'right'
      ? text.padStart(widths[c] as number)
      : text.padEnd(widths[c] as number);
  const line = (cells: readonly string[]): string =>
    `| ${Array.from({ length: columns }, (_, c) => cell(cells[c] ?? '', c)).join(' | ')} |`;
  const rule = `| ${widths
    .map((w, c) => (alignment[c] === 'right' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w)))
    .join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
