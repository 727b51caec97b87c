// Reading the apps' /metrics: counters summed over label sets and processes, histograms merged, differenced and
// turned into quantiles by linear interpolation inside a bucket (as Prometheus' histogram_quantile does).

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Cumulative counts per `le` bound. */
export interface Histogram {
  bounds: number[];
  counts: number[];
  sum: number;
  count: number;
}

/** The samples of a Prometheus text exposition. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key as string] = value as string;
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }

  return samples;
}

/** Sum of a counter or gauge over the samples whose labels include `match`. */
export function sum(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

/** Counter values per value of one label, summed over everything else. */
export function byLabel(samples: Sample[], name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name) continue;
    const key = String(s.labels[label]);
    out[key] = (out[key] ?? 0) + s.value;
  }

  return out;
}

/** One histogram, summed over every label set (collections) in the samples; `base` is the name without _bucket. */
export function histogram(samples: Sample[], base: string): Histogram {
  const byBound = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${base}_bucket`) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byBound.set(le, (byBound.get(le) ?? 0) + s.value);
  }
  const bounds = [...byBound.keys()].sort((a, b) => a - b);

  return {
    bounds,
    counts: bounds.map((b) => byBound.get(b) ?? 0),
    sum: sum(samples, `${base}_sum`),
    count: sum(samples, `${base}_count`),
  };
}

/** What was observed between two readings: later - earlier. */
export function diffHistograms(later: Histogram, earlier: Histogram): Histogram {
  if (earlier.bounds.length === 0) return later;

  return {
    bounds: later.bounds,
    counts: later.counts.map((c, i) => c - (earlier.counts[i] ?? 0)),
    sum: later.sum - earlier.sum,
    count: later.count - earlier.count,
  };
}

/** Quantile q (0..1) in the histogram's unit; null when empty. Beyond the last finite bound it answers that bound. */
export function quantile(h: Histogram, q: number): number | null {
  const total = h.counts[h.counts.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < h.bounds.length; i++) {
    const count = h.counts[i] ?? 0;
    if (count >= rank) {
      const upper = h.bounds[i] ?? Infinity;
      const lower = i === 0 ? 0 : (h.bounds[i - 1] ?? 0);
      if (upper === Infinity) return lower;
      const below = i === 0 ? 0 : (h.counts[i - 1] ?? 0);
      const inBucket = count - below;

      return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
    }
  }

  return null;
}

/** Upper bound of the highest bucket that holds an observation: the histogram's best statement of the maximum. */
export function maxBound(h: Histogram): number | null {
  for (let i = h.bounds.length - 1; i >= 0; i--) {
    const below = i === 0 ? 0 : (h.counts[i - 1] ?? 0);
    if ((h.counts[i] ?? 0) - below > 0) return h.bounds[i] ?? null;
  }

  return null;
}

/** Anything that serves /metrics: an app process. */
export interface MetricsSource {
  metrics(): Promise<string>;
}

/** Scrapes every app and parses the text; apps that do not answer are left out. */
export async function scrape(apps: MetricsSource[]): Promise<Sample[]> {
  const texts = await Promise.all(apps.map((app) => app.metrics().catch(() => '')));

  return texts.flatMap(parseMetrics);
}

/** Sum of histograms scraped per app (merging bucket counts of one metric over processes). */
export const lagHistogram = (samples: Sample[]): Histogram => histogram(samples, 'spillway_sink_lag_seconds');
