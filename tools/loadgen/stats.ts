// Counters, latency percentiles and the closing summary of the load generator.
import type { Options } from './options';
import type { OpKind, Operation } from './traffic';

const KINDS: readonly OpKind[] = ['create', 'update', 'delete', 'event'];
const MAX_ERROR_SAMPLES = 5;

/** What `send` resolves to: an HTTP answer, or a network error. */
export type SendResult =
  | { status: number; latencyMs: number; retryAfterMs?: number; detail?: string; networkError?: undefined }
  | { networkError: string; message: string };

type Outcome = 'ok' | 'notFound' | 'throttled' | 'httpErrors';

export interface Stats {
  sent: Record<OpKind, number>;
  completed: number;
  statuses: Map<number, number>;
  ok: number;
  notFound: number;
  throttled: number;
  httpErrors: number;
  networkErrors: number;
  skipped: number;
  latencies: number[];
  errorSamples: Map<string, { count: number; message: string | undefined }>;
}

export function createStats(): Stats {
  return {
    sent: Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<OpKind, number>,
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

export function recordSent(stats: Stats, op: Operation): void {
  stats.sent[op.kind] += 1;
}

/** Files one answered (or failed) request under exactly one outcome. */
export function recordResult(stats: Stats, op: Operation, result: SendResult): void {
  stats.completed += 1;
  if (result.networkError !== undefined) {
    stats.networkErrors += 1;
    sampleError(stats, `network ${result.networkError}`, result.message);

    return;
  }
  stats.statuses.set(result.status, (stats.statuses.get(result.status) ?? 0) + 1);
  stats.latencies.push(result.latencyMs);
  const outcome = outcomeOf(op, result.status);
  stats[outcome] += 1;
  if (outcome === 'httpErrors') {
    sampleError(stats, `${op.method} ${result.status}`, result.detail);
  }
}

function outcomeOf(op: Operation, status: number): Outcome {
  if (status >= 200 && status < 300) return 'ok';
  // A session deleted by an earlier, still in-flight request; expected, not an error.
  if (status === 404 && (op.kind === 'update' || op.kind === 'delete')) return 'notFound';
  if (status === 429) return 'throttled';

  return 'httpErrors';
}

function sampleError(stats: Stats, key: string, message: string | undefined): void {
  const sample = stats.errorSamples.get(key);
  if (sample) sample.count += 1;
  else if (stats.errorSamples.size < MAX_ERROR_SAMPLES) stats.errorSamples.set(key, { count: 1, message });
}

export const errorCount = (stats: Stats): number => stats.httpErrors + stats.networkErrors;

export function networkErrorRate(stats: Stats): number {
  return stats.completed === 0 ? 0 : stats.networkErrors / stats.completed;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;

  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
}

function latencySummary(latencies: readonly number[]): Summary['latencyMs'] {
  const sorted = Float64Array.from(latencies).sort();
  const round = (v: number | null | undefined): number | null =>
    v === null || v === undefined ? null : Math.round(v * 100) / 100;

  return {
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length ? sorted[sorted.length - 1] : null),
  };
}

/** Everything worth reporting; also what --json prints. */
export interface Summary {
  url: string;
  collection: string;
  seed: number;
  stoppedBecause: string | null;
  sendingSeconds: number;
  elapsedSeconds: number;
  targetRate: number;
  achievedRate: number;
  targetEventRate: number;
  achievedEventRate: number;
  sent: Record<OpKind | 'total', number>;
  skippedSlots: number;
  statuses: Record<string, number>;
  ok: number;
  notFound: number;
  throttled: number;
  errors: number;
  httpErrors: number;
  networkErrors: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  errorSamples: { kind: string; count: number; message: string | undefined }[];
}

export function buildSummary(
  stats: Stats,
  {
    options,
    sendingMs,
    elapsedMs,
    stoppedBecause,
  }: { options: Options; sendingMs: number; elapsedMs: number; stoppedBecause: string | null },
): Summary {
  const seconds = sendingMs / 1000;
  const docOps = stats.sent.create + stats.sent.update + stats.sent.delete;
  const perSec = (n: number): number => Math.round((n / seconds) * 10) / 10;

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

export function formatSummary(s: Summary): string {
  const ms = (v: number | null): string => (v === null ? '-' : `${v.toFixed(1)} ms`);
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
