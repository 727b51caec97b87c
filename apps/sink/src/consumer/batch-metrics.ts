import type { ChangeEntry } from '@app/contracts';
import type { SpillwayMetrics } from '@app/metrics';
import type { WriteOutcome } from './retrying-batch-writer';

/** What one handled batch came to, for the metrics. */
export interface HandledBatch {
  /** Decoded changes, the superseded ones included. */
  changes: readonly ChangeEntry[];
  written: WriteOutcome;
  /** Changes acked without a write because Redis holds a newer version. */
  superseded: number;
  /** Entries sent to the dead-letter stream. */
  deadLettered: number;
}

/** Counts a batch's entries by outcome, observes each change's lag and the batch size. */
export function recordBatch(
  metrics: SpillwayMetrics,
  labels: { collection: string; connection: string },
  batch: HandledBatch,
): void {
  const { changes, written, superseded, deadLettered } = batch;
  const counts = written.kind === 'written' ? written.counts : undefined;
  for (const outcome of ['inserted', 'updated', 'deleted', 'filtered'] as const) {
    metrics.sinkEntries.inc({ ...labels, outcome }, counts?.[outcome] ?? 0);
  }
  metrics.sinkEntries.inc({ ...labels, outcome: 'stale' }, (counts?.stale ?? 0) + superseded);
  metrics.sinkEntries.inc({ ...labels, outcome: 'rejected' }, deadLettered);
  if (changes.length > 0) {
    const now = Date.now();
    const lag = metrics.sinkLag.labels(labels);
    for (const change of changes) {
      lag.observe(Math.max(0, now - change.ingestedAt) / 1000);
    }
    metrics.sinkBatchSize.observe(labels, changes.length);
  }
}
