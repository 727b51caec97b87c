import { metricSamples } from './api-helpers';

/** Sum of a metric's samples that carry the given labels (any others too) in a Prometheus text page. */
export function metricSum(page: string, name: string, labels: Record<string, string> = {}): number {
  return metricSamples(page, name)
    .filter((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}
