import type { Collection } from '@app/collections';
import type { ChangeEntry } from '@app/contracts';
import {
  type AppliedChange,
  documentOutputWrites,
  eventOutputWrites,
  type SqlDialect,
  type SqlSession,
  type WritableProjection,
} from '@app/persistence';
import type { BatchCounts } from './batch-result';
import type { ProjectionCache } from './batch-projection';

/** Takes a filtered entry out of the inserted or updated count it was given by the state table's write. */
function countFiltered(counts: BatchCounts, inserted: boolean): void {
  counts.filtered += 1;
  if (inserted ? counts.inserted > 0 : counts.updated === 0) {
    counts.inserted -= 1;
  } else {
    counts.updated -= 1;
  }
}

function projectionOf(projections: ProjectionCache, entry: ChangeEntry): WritableProjection {
  const projection = projections.get(entry);
  if (projection === undefined) {
    throw new Error(`entry ${entry.entryId} was not projected`);
  }

  return projection;
}

/**
 * Writes a batch's changes into a collection's output tables, inside the transaction that wrote them to its state
 * table and after that write: only what the state table took is projected, so the version guard and the tombstones
 * of the state table decide for every output, and the locks its write took keep concurrent writers of the
 * same documents apart until the commit.
 */
export class OutputTablesWriter {
  constructor(private readonly dialect: SqlDialect) {}

  /**
   * After the state table's document write: the puts it applied (`rows`: the ids of the state rows it wrote, each
   * with true when it inserted the row), and every delete. Counts the filtered puts. With `newRows`, the rows of
   * documents whose state row this write created go in without a conflict check (see `documentOutputWrites`).
   */
  async writeDocuments(
    session: SqlSession,
    collection: Collection,
    changes: {
      puts: ChangeEntry[];
      deletes: ChangeEntry[];
      projections: ProjectionCache;
      rows: ReadonlyMap<string, boolean>;
    },
    counts: BatchCounts,
    { newRows }: { newRows: boolean },
  ): Promise<void> {
    const applied: AppliedChange[] = [];
    for (const entry of changes.puts) {
      const inserted = changes.rows.get(entry.id);
      if (inserted !== undefined) {
        const projection = projectionOf(changes.projections, entry);
        if (projection.kind === 'filtered') {
          countFiltered(counts, inserted);
        }
        applied.push({ entry, projection, createdState: inserted });
      }
    }
    await this.dialect.outputs.write(
      session,
      documentOutputWrites(collection.outputs, applied, changes.deletes, { newRows }),
      'rows-first',
    );
  }

  /** After the state table's event insert: the events it inserted (`insertedIds`). Counts the filtered ones. */
  async writeEvents(
    session: SqlSession,
    collection: Collection,
    changes: { events: ChangeEntry[]; insertedIds: ReadonlySet<string>; projections: ProjectionCache },
    counts: BatchCounts,
  ): Promise<void> {
    const inserted: AppliedChange[] = [];
    for (const entry of changes.events) {
      if (changes.insertedIds.has(entry.id)) {
        const projection = projectionOf(changes.projections, entry);
        if (projection.kind === 'filtered') {
          counts.inserted -= 1;
          counts.filtered += 1;
        }
        inserted.push({ entry, projection });
      }
    }
    await this.dialect.outputs.write(session, eventOutputWrites(collection.outputs, inserted), 'rows-first');
  }
}
