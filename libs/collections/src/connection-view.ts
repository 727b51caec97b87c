import { DEFAULT_CONNECTION } from '@app/contracts';
import type { Collection } from './collection';

/**
 * The connections a collection writes to: the default one, which holds its state table for the ingest's reads, and
 * each one an output names, which holds a state table of its own beside those outputs (its version guard and
 * tombstones), so every database converges on its own.
 */
export function connectionsOf(collection: Collection): string[] {
  return [...new Set([DEFAULT_CONNECTION, ...collection.outputs.map((o) => o.connection)])];
}

/**
 * The collection as the sink of one connection writes it: its state table and the outputs in that connection alone,
 * projected alone, so a value that only another database's output refuses is that database's dead letter, not this
 * one's.
 */
export function connectionView(collection: Collection, connection: string): Collection {
  const indexes = collection.outputs.flatMap((output, i) => (output.connection === connection ? [i] : []));
  if (indexes.length === collection.outputs.length) {
    return collection;
  }
  const outputs = indexes.map((i) => collection.outputs[i]).filter((o) => o !== undefined);

  return {
    ...collection,
    outputs,
    projector: outputs.length === 0 ? undefined : collection.projector?.only(indexes),
  };
}
