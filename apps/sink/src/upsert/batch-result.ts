import type { ChangeEntry } from '@app/contracts';

/**
 * What a batch's entries came to, each counted once: a row of the state table inserted, updated or deleted; stale (an
 * equal or newer version was stored, or a newer one came in the same batch); filtered (applied to the state table,
 * but the collection's `filter` blocks keep it out of every output table: counted here instead of inserted or
 * updated).
 */
export interface BatchCounts {
  inserted: number;
  updated: number;
  deleted: number;
  stale: number;
  filtered: number;
}

/** An entry left out of the write, with the reason its dead letter carries. */
export interface RejectedEntry {
  entry: ChangeEntry;
  reason: string;
}

export interface BatchResult {
  counts: BatchCounts;
  /** Entries refused for their content (by PostgreSQL, or by the output mapping); the rest was committed. */
  rejected: RejectedEntry[];
}

export const noCounts = (): BatchCounts => ({ inserted: 0, updated: 0, deleted: 0, stale: 0, filtered: 0 });

export function addResult(into: BatchResult, more: BatchResult): void {
  into.counts.inserted += more.counts.inserted;
  into.counts.updated += more.counts.updated;
  into.counts.deleted += more.counts.deleted;
  into.counts.stale += more.counts.stale;
  into.counts.filtered += more.counts.filtered;
  into.rejected.push(...more.rejected);
}
