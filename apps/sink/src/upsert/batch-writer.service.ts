import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import type { Collection } from '@app/collections';
import { type ChangeEntry, entryIdMs } from '@app/contracts';
import { DatabaseService, postgresOutputSql, preparedRows, qualifiedTable } from '@app/persistence';
import { projectBatch, type ProjectionCache } from './batch-projection';
import { addResult, type BatchCounts, type BatchResult, noCounts, type RejectedEntry } from './batch-result';
import { insertEvents, WRITE_DOCUMENTS, WRITE_DOCUMENTS_RETURNING_IDS } from './batch-sql';
import { coalesce } from './coalesce';
import { OutputTablesWriter } from './output-tables-writer';
import { describeError, isContentError } from './postgres-errors';

/** Writes batches of change entries into a collection's table, and its output tables, one transaction per batch. */
@Injectable()
export class BatchWriterService {
  private readonly outputs = new OutputTablesWriter(postgresOutputSql);

  constructor(private readonly database: DatabaseService) {}

  /**
   * Writes the batch; when PostgreSQL refuses it for its content, splits it in halves until the
   * refused entries stand alone, so that their batch-mates still land. Other errors are thrown.
   */
  async writeIsolating(
    collection: Collection,
    entries: ChangeEntry[],
    projections: ProjectionCache = new Map(),
  ): Promise<BatchResult> {
    try {
      return await this.write(collection, entries, projections);
    } catch (error) {
      if (!isContentError(error)) {
        throw error;
      }
      const [only, ...others] = entries;
      if (only !== undefined && others.length === 0) {
        const reason = `rejected by PostgreSQL: ${describeError(error)}`;

        return { counts: noCounts(), rejected: [{ entry: only, reason }] };
      }
      const middle = Math.ceil(entries.length / 2);
      const result: BatchResult = { counts: noCounts(), rejected: [] };
      for (const half of [entries.slice(0, middle), entries.slice(middle)]) {
        addResult(result, await this.writeIsolating(collection, half, projections));
      }

      return result;
    }
  }

  /**
   * Writes one batch in one transaction. A collection's batch holds documents or events, each written to the state
   * table by one statement, which is a transaction of its own; a batch that holds both, or a collection with output
   * tables, gets BEGIN and COMMIT around its statements. A collection's puts and events that its output mapping
   * cannot project are left out, and returned as rejected.
   */
  async write(
    collection: Collection,
    entries: ChangeEntry[],
    projections: ProjectionCache = new Map(),
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
    const table = qualifiedTable(collection);
    const runner = (await this.database.connect()).createQueryRunner();
    try {
      const client = (await runner.connect()) as PoolClient;
      if (hasOutputs || (hasDocuments && hasEvents)) {
        await runner.startTransaction();
      }
      if (hasDocuments) {
        const { puts, deletes } = batch;
        const written = hasOutputs
          ? await this.writeDocumentsReturningIds(client, table, collection.name, puts, deletes)
          : { ...(await this.writeDocuments(client, table, collection.name, puts, deletes)), rows: undefined };
        counts.inserted += written.inserted;
        counts.updated += written.updated;
        counts.deleted += written.deleted;
        counts.stale += puts.length - written.inserted - written.updated + deletes.length - written.deleted;
        if (written.rows !== undefined) {
          const { rows } = written;
          await this.outputs.writeDocuments(client, collection, { puts, deletes, projections, rows }, counts);
        }
      }
      if (hasEvents) {
        const rows = await this.insertEvents(client, table, collection.name, batch.events);
        counts.inserted += rows.length;
        counts.stale += batch.events.length - rows.length;
        if (hasOutputs) {
          const insertedIds = new Set(rows.map((r) => r.id));
          await this.outputs.writeEvents(
            client,
            collection,
            { events: batch.events, insertedIds, projections },
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

  /** The one row spillway_write_documents_v1 returns: how many rows were inserted, updated, deleted. */
  private async writeDocuments(
    client: PoolClient,
    table: string,
    collection: string,
    puts: ChangeEntry[],
    deletes: ChangeEntry[],
  ): Promise<Pick<BatchCounts, 'inserted' | 'updated' | 'deleted'>> {
    const [written] = await preparedRows<Pick<BatchCounts, 'inserted' | 'updated' | 'deleted'>>(
      client,
      'spillway:write-documents',
      WRITE_DOCUMENTS,
      documentParameters(table, collection, puts, deletes),
    );
    if (written === undefined) {
      throw new Error('spillway_write_documents_v1 returned no row');
    }

    return written;
  }

  /**
   * The one row spillway_write_documents_v2 returns, as counts, and the state rows it wrote (`rows`: each id with true
   * when it inserted the row, false when it updated it), whose puts go to the output tables.
   */
  private async writeDocumentsReturningIds(
    client: PoolClient,
    table: string,
    collection: string,
    puts: ChangeEntry[],
    deletes: ChangeEntry[],
  ): Promise<Pick<BatchCounts, 'inserted' | 'updated' | 'deleted'> & { rows: Map<string, boolean> }> {
    const [written] = await preparedRows<{ inserted_ids: string[]; updated_ids: string[]; deleted: number }>(
      client,
      'spillway:write-documents-returning-ids',
      WRITE_DOCUMENTS_RETURNING_IDS,
      documentParameters(table, collection, puts, deletes),
    );
    if (written === undefined) {
      throw new Error('spillway_write_documents_v2 returned no row');
    }
    const rows = new Map<string, boolean>();
    written.inserted_ids.forEach((id) => rows.set(id, true));
    written.updated_ids.forEach((id) => rows.set(id, false));

    return {
      inserted: written.inserted_ids.length,
      updated: written.updated_ids.length,
      deleted: written.deleted,
      rows,
    };
  }

  private insertEvents(client: PoolClient, table: string, collection: string, events: ChangeEntry[]) {
    return preparedRows<{ id: string }>(client, `spillway:events:${collection}`, insertEvents(table), [
      events.map((e) => e.id),
      JSON.stringify(events.map((e) => e.doc)),
      events.map((e) => e.ingestedAt),
    ]);
  }
}

/** The parameters of spillway_write_documents_v1 and _v2. */
const documentParameters = (table: string, collection: string, puts: ChangeEntry[], deletes: ChangeEntry[]) => [
  collection,
  table,
  puts.map((e) => e.id),
  puts.map((e) => e.version),
  JSON.stringify(puts.map((e) => e.doc)),
  puts.map((e) => e.ingestedAt),
  deletes.map((e) => e.id),
  deletes.map((e) => e.version),
  deletes.map((e) => entryIdMs(e.entryId)),
];
