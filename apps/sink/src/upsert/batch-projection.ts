import type { Collection, Projection, Projector } from '@app/collections';
import type { ChangeEntry } from '@app/contracts';
import type { WritableProjection } from '@app/persistence';
import type { RejectedEntry } from './batch-result';
import type { CoalescedBatch } from './coalesce';

/** Projections made once per entry and kept across the halves of a batch PostgreSQL refused. */
export type ProjectionCache = Map<ChangeEntry, WritableProjection>;

/** A coalesced batch whose puts and events all have a projection. */
export interface ProjectedBatch {
  batch: CoalescedBatch;
  /** Puts and events that cannot be projected: left out of the batch, the state table included. */
  rejected: RejectedEntry[];
}

/**
 * Projects the puts and events of a coalesced batch before its transaction, into `cache`. Those that cannot be
 * projected are taken out of the batch and returned as rejected, so that their batch-mates still land; the entries
 * they superseded stay superseded (stale), as when PostgreSQL refuses a document.
 */
export function projectBatch(collection: Collection, batch: CoalescedBatch, cache: ProjectionCache): ProjectedBatch {
  const projector = collection.projector;
  if (projector === undefined) {
    throw new Error(`collection ${collection.name} has outputs but no projector`);
  }
  const rejected: RejectedEntry[] = [];
  const projectable = (entry: ChangeEntry): boolean => {
    if (cache.has(entry)) {
      return true;
    }
    const projection = project(projector, entry);
    if (projection.kind === 'invalid') {
      rejected.push({ entry, reason: `rejected by the output mapping: ${projection.reason}` });

      return false;
    }
    cache.set(entry, projection);

    return true;
  };
  const puts = batch.puts.filter(projectable);
  const events = batch.events.filter(projectable);

  return { batch: { ...batch, puts, events }, rejected };
}

/** The projection of one entry; a document that is not JSON, or a projector that throws, makes it invalid. */
function project(projector: Projector, entry: ChangeEntry): Projection {
  let doc: unknown;
  try {
    doc = JSON.parse(entry.doc);
  } catch (error) {
    return { kind: 'invalid', reason: `the document is not JSON (${(error as Error).message})` };
  }
  try {
    return projector.project(doc);
  } catch (error) {
    return { kind: 'invalid', reason: `the projection failed: ${(error as Error).message}` };
  }
}
