import type { OutputTable } from '@app/collections';
import { type OutputWrite, OutputWriteBuilder, type OutputWriteMode, type WritableProjection } from './output-writes';

/** A document (or event) read back from its collection's state table, with its projection. */
export interface ReprojectedDocument {
  readonly id: string;
  /** The state row's version (1 for an event, as the sink writes it). */
  readonly version: number;
  readonly projection: WritableProjection;
}

/**
 * What rewriting documents from the state table does to each output table: every row of each document at or below
 * its version is removed (the removal carries version + 1, as the remove statement takes rows older than the version
 * it is given), then its rows are written; a filtered document keeps no row in any output. Unlike a sink's batch, the
 * removals come first (the dialect's `outputs.write` in 'removals-first' order): rows at the document's own version are rewritten, since the
 * mapping may have changed since they were written. Rows of a newer version than the state row's are left alone.
 * `mode` is 'upsert' for documents and 'insert-once' for events, as the sink writes them.
 */
export function reprojectionWrites(
  outputs: readonly OutputTable[],
  documents: readonly ReprojectedDocument[],
  mode: OutputWriteMode,
): OutputWrite[] {
  return outputs.flatMap((output, index) => {
    const write = new OutputWriteBuilder(output, mode);
    for (const { id, version, projection } of documents) {
      write.remove({ id, version: version + 1 });
      if (projection.kind === 'rows') {
        write.add(projection.rows[index], version);
      }
    }

    return write.build() ?? [];
  });
}
