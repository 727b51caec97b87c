// Reading the apps' /metrics: counters summed over label sets and processes, histograms merged, differenced and
// turned into quantiles by linear interpolation inside a bucket (as Prometheus' histogram_quantile does).

/**
 * @typedef {{ name: string, labels: Record<string, string>, value: number }} Sample
 * @typedef {{ bounds: number[], counts: number[], sum: number, count: number }} Histogram  cumulative counts per `le`
 */

/** @param {string} text @returns {Sample[]} */
export function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/**
 * Sum of a counter or gauge over the samples whose labels include `match`.
 * @param {Sample[]} samples @param {string} name @param {Record<string, string>} [match]
 */
export function sum(samples, name, match = {}) {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

/**
 * Counter values per value of one label, summed over everything else.
 * @param {Sample[]} samples @param {string} name @param {string} label
 */
export function byLabel(samples, name, label) {
  const out = {};
  for (const s of samples) if (s.name === name) out[s.labels[label]] = (out[s.labels[label]] ?? 0) + s.value;
  return out;
}

/**
 * One histogram, summed over every label set (collections) in the samples.
 * @param {Sample[]} samples @param {string} base metric name without _bucket
 * @returns {Histogram}
 */
export function histogram(samples, base) {
  const byBound = new Map();
  for (const s of samples) {
    if (s.name !== `${base}_bucket`) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byBound.set(le, (byBound.get(le) ?? 0) + s.value);
  }
  const bounds = [...byBound.keys()].sort((a, b) => a - b);
  return {
    bounds,
    counts: bounds.map((b) => byBound.get(b)),
    sum: sum(samples, `${base}_sum`),
    count: sum(samples, `${base}_count`),
  };
}

/** Bucket-wise a + b (same bounds, or one of them empty). @param {Histogram} a @param {Histogram} b */
export function addHistograms(a, b) {
  if (a.bounds.length === 0) return b;
  if (b.bounds.length === 0) return a;
  return { bounds: a.bounds, counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)), sum: a.sum + b.sum, count: a.count + b.count };
}

/** What was observed between two readings: later - earlier. @param {Histogram} later @param {Histogram} earlier */
export function diffHistograms(later, earlier) {
  if (earlier.bounds.length === 0) return later;
  return {
    bounds: later.bounds,
    counts: later.counts.map((c, i) => c - (earlier.counts[i] ?? 0)),
    sum: later.sum - earlier.sum,
    count: later.count - earlier.count,
  };
}

/**
 * Quantile q (0..1) in the histogram's unit; null when empty. Beyond the last finite bound it answers that bound.
 * @param {Histogram} h @param {number} q
 */
export function quantile(h, q) {
  const total = h.counts[h.counts.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < h.bounds.length; i++) {
    if (h.counts[i] >= rank) {
      const upper = h.bounds[i];
      const lower = i === 0 ? 0 : h.bounds[i - 1];
      if (upper === Infinity) return lower;
      const below = i === 0 ? 0 : h.counts[i - 1];
      const inBucket = h.counts[i] - below;
      return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
    }
  }
  return null;
}

/**
 * Upper bound of the highest bucket that holds an observation: the histogram's best statement of the maximum.
 * @param {Histogram} h
 */
export function maxBound(h) {
  for (let i = h.bounds.length - 1; i >= 0; i--) {
    const below = i === 0 ? 0 : h.counts[i - 1];
    if (h.counts[i] - below > 0) return h.bounds[i];
  }
  return null;
}

/**
 * Scrapes every app and parses the text; apps that do not answer are left out.
 * @param {{ metrics(): Promise<string> }[]} apps
 * @returns {Promise<Sample[]>}
 */
export async function scrape(apps) {
  const texts = await Promise.all(apps.map((app) => app.metrics().catch(() => '')));
  return texts.flatMap(parseMetrics);
}

/** Sum of histograms scraped per app (merging bucket counts of one metric over processes). @param {Sample[]} samples */
export const lagHistogram = (samples) => histogram(samples, 'spillway_sink_lag_seconds');
