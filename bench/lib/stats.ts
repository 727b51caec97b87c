// Small numeric helpers: percentiles of recorded samples, rates, rounding for the report.

/** The `q` (0..1) percentile of recorded samples, the nearest-rank way; NaN without samples. */
export function percentile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();

  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

/** `value` with `digits` decimals; null when it is not a finite number (JSON has no NaN). */
export const round = (value: number, digits = 0): number | null =>
  Number.isFinite(value) ? Number(value.toFixed(digits)) : null;

/** Milliseconds since an hrtime.bigint() reading. */
export const msSince = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A whole number with thousands separators, or a dash for none. */
export const fmt = (n: number | null | undefined): string =>
  n === null || n === undefined || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US');

/** Bytes as whole MiB. */
export const mb = (bytes: number | null | undefined): number | null =>
  bytes === null || bytes === undefined ? null : Math.round(bytes / 1048576);
