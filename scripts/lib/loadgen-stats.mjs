// Counters, latency percentiles and the closing summary of the load generator.

const KINDS = ['create', 'update', 'delete', 'event'];
const MAX_ERROR_SAMPLES = 5;

export function createStats() {
  return {
    sent: Object.fromEntries(KINDS.map((k) => [k, 0])),
    completed: 0,
    statuses: new Map(),
    ok: 0,
    notFound: 0,
    throttled: 0,
    httpErrors: 0,
    networkErrors: 0,
    skipped: 0,
    latencies: [],
    errorSamples: new Map(),
  };
}

export function recordSent(stats, op) {
  stats.sent[op.kind] += 1;
}

/** Files one answered (or failed) request under exactly one outcome. */
export function recordResult(stats, op, result) {
  stats.completed += 1;
  if (result.networkError) {
    stats.networkErrors += 1;
    sampleError(stats, `network ${result.networkError}`, result.message);
    return;
  }
  stats.statuses.set(result.status, (stats.statuses.get(result.status) ?? 0) + 1);
  stats.latencies.push(result.latencyMs);
  stats[outcomeOf(op, result.status)] += 1;
  if (outcomeOf(op, result.status) === 'httpErrors') {
    sampleError(stats, `${op.method} ${result.status}`, result.detail);
  }
}

function outcomeOf(op, status) {
  if (status >= 200 && status < 300) return 'ok';
  // A session deleted by an earlier, still in-flight request; expected, not an error.
  if (status === 404 && (op.kind === 'update' || op.kind === 'delete')) return 'notFound';
  if (status === 429) return 'throttled';
  return 'httpErrors';
}

function sampleError(stats, key, message) {
  const sample = stats.errorSamples.get(key);
  if (sample) sample.count += 1;
  else if (stats.errorSamples.size < MAX_ERROR_SAMPLES) stats.errorSamples.set(key, { count: 1, message });
}

export const errorCount = (stats) => stats.httpErrors + stats.networkErrors;

export function networkErrorRate(stats) {
  return stats.completed === 0 ? 0 : stats.networkErrors / stats.completed;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function latencySummary(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  const round = (v) => (v === null ? null : Math.round(v * 100) / 100);
  return {
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length ? sorted[sorted.length - 1] : null),
  };
}

/** Plain object with everything worth reporting; also what --json prints. */
export function buildSummary(stats, { options, sendingMs, elapsedMs, stoppedBecause }) {
  const seconds = sendingMs / 1000;
  const docOps = stats.sent.create + stats.sent.update + stats.sent.delete;
  const perSec = (n) => Math.round((n / seconds) * 10) / 10;
  return {
    url: options.url.href,
    collection: options.collection,
    seed: options.seed,
    stoppedBecause,
    sendingSeconds: Math.round(seconds * 100) / 100,
    elapsedSeconds: Math.round(elapsedMs / 10) / 100,
    targetRate: options.rate,
    achievedRate: perSec(docOps),
    targetEventRate: options.eventsPerSec,
    achievedEventRate: perSec(stats.sent.event),
    sent: { ...stats.sent, total: docOps + stats.sent.event },
    skippedSlots: stats.skipped,
    statuses: Object.fromEntries([...stats.statuses].sort(([a], [b]) => a - b)),
    ok: stats.ok,
    notFound: stats.notFound,
    throttled: stats.throttled,
    errors: errorCount(stats),
    httpErrors: stats.httpErrors,
    networkErrors: stats.networkErrors,
    latencyMs: latencySummary(stats.latencies),
    errorSamples: [...stats.errorSamples].map(([kind, s]) => ({ kind, ...s })),
  };
}

export function formatSummary(s) {
  const ms = (v) => (v === null ? '-' : `${v.toFixed(1)} ms`);
  const statuses = Object.entries(s.statuses).map(([code, n]) => `${code}: ${n}`);
  const lines = [
    '',
    `loadgen summary  ${s.url}  collection=${s.collection}  seed=${s.seed}`,
    `  ran        ${s.sendingSeconds} s sending (${s.stoppedBecause}), ${s.elapsedSeconds} s with the last answers`,
    `  rate       ${s.achievedRate} ops/s achieved of ${s.targetRate} target` +
      (s.targetEventRate > 0 ? `; events ${s.achievedEventRate}/s of ${s.targetEventRate}` : ''),
    `  sent       create ${s.sent.create}  update ${s.sent.update}  delete ${s.sent.delete}  event ${s.sent.event}` +
      `  (total ${s.sent.total}${s.skippedSlots ? `, ${s.skippedSlots} slots skipped while behind` : ''})`,
    `  statuses   ${statuses.length ? statuses.join('  ') : '-'}`,
    `  outcomes   ok ${s.ok}  notFound ${s.notFound}  throttled(429) ${s.throttled}` +
      `  errors ${s.errors} (http ${s.httpErrors}, network ${s.networkErrors})`,
    `  latency    p50 ${ms(s.latencyMs.p50)}  p95 ${ms(s.latencyMs.p95)}  p99 ${ms(s.latencyMs.p99)}` +
      `  max ${ms(s.latencyMs.max)}`,
  ];
  for (const e of s.errorSamples) lines.push(`  error      ${e.kind} x${e.count}: ${e.message ?? ''}`);
  return lines.join('\n');
}
