import type { ChangeEntry } from '@app/contracts';
import type { SortedBatch } from './batch-sorting';

/** The most reads one write gathers: bounds the entries a consumer holds unacked, and a batch's wait before its write. */
export const MAX_GATHERED_READS = 8;

/** The changes of a batch that need a write: those Redis does not hold at a newer version. */
export function changesToWrite(batch: SortedBatch): number {
  return batch.changes.length - batch.superseded.size;
}

/**
 * Whether a write holding `toWrite` changes so far should wait for one more read. Most entries of a deep backlog of hot
 * documents are superseded, so a read of `batchSize` entries leaves a few dozen changes to write; where a write is a
 * transaction of several statements (a collection with outputs: its state table, a COPY or statement per output
 * table, the commit), it costs the sink and the database nearly as much for those as for ten times as many. So while
 * the reads come back full (the backlog is deeper than a read), the changes of several are written together, as long
 * as the next read, bringing as many as the last, keeps the write within `batchSize` changes. A shallow backlog, or
 * one where every entry is a write, is written read by read.
 */
export function gathersMore(toWrite: number, lastRead: SortedBatch, reads: number, batchSize: number): boolean {
  return (
    reads < MAX_GATHERED_READS && lastRead.raw.length >= batchSize && toWrite + changesToWrite(lastRead) <= batchSize
  );
}

/** How long a partial read of a busy stream waits for one more read before its write (see {@link waitsForMore}). */
export const PARTIAL_READ_WAIT_MS = 5;

/**
 * Whether a read that came back partial waits {@link PARTIAL_READ_WAIT_MS} for one more read, written together. On a
 * stream the sinks keep up with, each read holds only what came in since the last one: ingest appends a `_bulk` in
 * calls of 100 items and a blocked read wakes at each, so 2 sinks under a stream of `_bulk` requests wrote batches of
 * about 250 entries of 500, and a write, its read and its ack cost the sink, Redis and the database nearly as much
 * for those as for a full batch. A read of less than an eighth of a batch is a quiet stream, whose writes are cheap
 * and whose lag is what counts: it never waits; nor does a full read, behind which more is already waiting.
 */
export function waitsForMore(read: SortedBatch, batchSize: number): boolean {
  return read.raw.length >= batchSize / 8 && read.raw.length < batchSize;
}

/** One batch of several reads, in the order they were read: written in one transaction, acked together after it. */
export function mergeBatches(reads: readonly SortedBatch[]): SortedBatch {
  return {
    raw: reads.flatMap((read) => read.raw),
    changes: reads.flatMap((read) => read.changes),
    superseded: new Set(reads.flatMap((read) => [...read.superseded])),
    letters: reads.flatMap((read) => read.letters),
    settledIds: reads.flatMap((read) => read.settledIds),
  };
}

/**
 * The read without the content of its superseded changes, which only wait for their ack: their documents (most of a
 * read's bytes) are left to the garbage collector while still young, instead of being carried through the collections
 * that a gathered write lives through (which doubled the sink's collection time in a drain).
 */
export function withoutSupersededContent(batch: SortedBatch): SortedBatch {
  if (batch.superseded.size === 0) {
    return batch;
  }
  const slim = new Map<ChangeEntry, ChangeEntry>();
  const ids = new Set<string>();
  for (const change of batch.superseded) {
    slim.set(change, { ...change, doc: '' });
    ids.add(change.entryId);
  }

  return {
    raw: batch.raw.map((entry) => (ids.has(entry.id) ? { ...entry, fields: [] } : entry)),
    changes: batch.changes.map((change) => slim.get(change) ?? change),
    superseded: new Set(slim.values()),
    letters: batch.letters,
    settledIds: batch.settledIds,
  };
}
