import type { Collection } from '@app/collections';
import type { ChangeEntry } from '@app/contracts';
import type { DatabaseService } from '@app/persistence';
import { projectBatch, type ProjectionCache } from './batch-projection';
import { addResult, type BatchResult, noCounts, type RejectedEntry } from './batch-result';
import { coalesce } from './coalesce';
import { OutputTablesWriter } from './output-tables-writer';

/** How {@link BatchWriter} writes a batch. */
export interface WriteOptions {
  /**
   * Default true: the output rows of a document whose state row the batch creates are inserted without a conflict
   * check, as such a document has no rows in the outputs that follow deletes (`documentOutputWrites`). False leaves
   * every row to the version-guarded upsert.
   */
  newRows?: boolean;
}

/**
 * Writes batches of change entries into one database (a connection): a collection's state table and its output tables
 * there, one transaction per batch.
 */
export class BatchWriter {
  private readonly outputs: OutputTablesWriter;

  constructor(private readonly database: DatabaseService) {
    this.outputs = new OutputTablesWriter(database.dialect);
  }

  /** Whether the reads of a deep backlog of this collection are gathered into one write (see `gathersMore`). */
  gathersReads(collection: Collection): boolean {
    return collection.outputs.length > 0 && this.database.dialect.gathersReadsForOutputs;
  }

  /** A failed write's error as one line for a log. */
  describeError(error: unknown): string {
    return `${this.database.dialect.label}: ${this.database.dialect.errors.describe(error)}`;
  }

  /**
   * Writes the batch; when the database refuses it for its content, splits it in halves until the refused entries
   * stand alone, so that their batch-mates still land. Other errors are thrown. A collection with outputs is first
   * written again whole without `newRows` (see {@link write}): a stored row that met a new one is then left to the
   * version guard, as before that shortcut, and only what the database still refuses is split out.
   */
  async writeIsolating(
    collection: Collection,
    entries: ChangeEntry[],
    projections: ProjectionCache = new Map(),
    { newRows = true }: WriteOptions = {},
  ): Promise<BatchResult> {
    try {
      return await this.write(collection, entries, projections, { newRows });
    } catch (error) {
      const { errors, label } = this.database.dialect;
      if (errors.classify(error) !== 'content') {
        throw error;
      }
      if (newRows && collection.outputs.length > 0) {
        return this.writeIsolating(collection, entries, projections, { newRows: false });
      }
      const [only, ...others] = entries;
      if (only !== undefined && others.length === 0) {
        const reason = `rejected by ${label}: ${errors.describe(error)}`;

        return { counts: noCounts(), rejected: [{ entry: only, reason }] };
      }
      const middle = Math.ceil(entries.length / 2);
      const result: BatchResult = { counts: noCounts(), rejected: [] };
      for (const half of [entries.slice(0, middle), entries.slice(middle)]) {
        addResult(result, await this.writeIsolating(collection, half, projections, { newRows: false }));
      }

      return result;
    }
  }

  /**
   * Writes one batch in one transaction. A collection's batch holds documents or events; on PostgreSQL each is written
   * to the state table by one statement, which is a transaction of its own; a batch that holds both, a collection with
   * output tables, or a database whose writes take several statements gets BEGIN and COMMIT around them. A collection's puts and events that its output mapping
   * cannot project are left out, and returned as rejected.
   */
  async write(
    collection: Collection,
    entries: ChangeEntry[],
    projections: ProjectionCache = new Map(),
    { newRows = true }: WriteOptions = {},
  ): Promise<BatchResult> {
    const hasOutputs = collection.outputs.length > 0;
    const coalesced = coalesce(entries);
    const { batch, rejected } = hasOutputs
      ? projectBatch(collection, coalesced, projections)
      : { batch: coalesced, rejected: [] as RejectedEntry[] };
    const counts = noCounts();
    counts.stale = batch.superseded.length;
    const hasDocuments = batch.puts.length + batch.deletes.length > 0;
    const hasEvents = batch.events.length > 0;
    if (!hasDocuments && !hasEvents) {
      return { counts, rejected };
    }
    const { dialect } = this.database;
    const runner = (await this.database.connect()).createQueryRunner();
    try {
      const session = await dialect.session(runner);
      if (hasOutputs || (hasDocuments && hasEvents) || !dialect.writesAreSingleStatements) {
        await runner.startTransaction();
      }
      if (hasDocuments) {
        const { puts, deletes } = batch;
        const written = await dialect.state.writeDocuments(session, collection, batch, { withIds: hasOutputs });
        counts.inserted += written.inserted;
        counts.updated += written.updated;
        counts.deleted += written.deleted;
        counts.stale += puts.length - written.inserted - written.updated + deletes.length - written.deleted;
        if (written.rows !== undefined) {
          const { rows } = written;
          await this.outputs.writeDocuments(session, collection, { puts, deletes, projections, rows }, counts, {
            newRows,
          });
        }
      }
      if (hasEvents) {
        const insertedIds = await dialect.state.insertEvents(session, collection, batch.events);
        counts.inserted += insertedIds.length;
        counts.stale += batch.events.length - insertedIds.length;
        if (hasOutputs) {
          await this.outputs.writeEvents(
            session,
            collection,
            { events: batch.events, insertedIds: new Set(insertedIds), projections },
            counts,
          );
        }
      }
      if (runner.isTransactionActive) {
        await runner.commitTransaction();
      }

      return { counts, rejected };
    } catch (error) {
      if (runner.isTransactionActive) {
        await runner.rollbackTransaction().catch(() => undefined);
      }
      throw error;
    } finally {
      await runner.release();
    }
  }
}
