// Small numeric helpers: percentiles of recorded samples, rates, rounding for the report.

/**
 * @param {number[]} values
 * @param {number} q 0..1
 */
export function percentile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** @param {number} value @param {number} [digits] */
export const round = (value, digits = 0) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : null);

/** Milliseconds since an hrtime.bigint() reading. @param {bigint} start */
export const msSince = (start) => Number(process.hrtime.bigint() - start) / 1e6;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @param {number | null | undefined} n */
export const fmt = (n) => (n === null || n === undefined || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US'));

/** @param {number | null | undefined} bytes */
export const mb = (bytes) => (bytes === null || bytes === undefined ? null : Math.round(bytes / 1048576));
