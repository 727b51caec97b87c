import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import type { Collection } from '@app/collections';
import { type ChangeEntry, entryIdMs } from '@app/contracts';
import { DatabaseService, qualifiedTable } from '@app/persistence';
import { insertEvents, WRITE_DOCUMENTS } from './batch-sql';
import { coalesce } from './coalesce';
import { describeError, isContentError } from './postgres-errors';

/** What a batch's rows came to: inserted, updated, deleted, or stale (an equal or newer version was stored). */
export interface BatchCounts {
  inserted: number;
  updated: number;
  deleted: number;
  stale: number;
}

export interface RejectedEntry {
  entry: ChangeEntry;
  reason: string;
}

export interface IsolatedBatchResult {
  counts: BatchCounts;
  /** Entries PostgreSQL refused for their content; the rest of the batch was committed. */
  rejected: RejectedEntry[];
}

const noCounts = (): BatchCounts => ({ inserted: 0, updated: 0, deleted: 0, stale: 0 });

function addCounts(into: BatchCounts, more: BatchCounts): void {
  into.inserted += more.inserted;
  into.updated += more.updated;
  into.deleted += more.deleted;
  into.stale += more.stale;
}

/** Runs a statement prepared once per connection under `name` (one name per text), and returns its rows. */
async function preparedRows<T>(client: PoolClient, name: string, text: string, values: unknown[]): Promise<T[]> {
  return (await client.query<T & object>({ name, text, values })).rows;
}

/** Writes batches of change entries into a collection's table, one transaction per batch. */
@Injectable()
export class BatchWriterService {
  constructor(private readonly database: DatabaseService) {}

  /**
   * Writes the batch; when PostgreSQL refuses it for its content, splits it in halves until the
   * refused entries stand alone, so that their batch-mates still land. Other errors are thrown.
   */
  async writeIsolating(collection: Collection, entries: ChangeEntry[]): Promise<IsolatedBatchResult> {
    try {
      return { counts: await this.write(collection, entries), rejected: [] };
    } catch (error) {
      if (!isContentError(error)) {
        throw error;
      }
      const [only, ...others] = entries;
      if (only !== undefined && others.length === 0) {
        return { counts: noCounts(), rejected: [{ entry: only, reason: describeError(error) }] };
      }
      const middle = Math.ceil(entries.length / 2);
      const result: IsolatedBatchResult = { counts: noCounts(), rejected: [] };
      for (const half of [entries.slice(0, middle), entries.slice(middle)]) {
        const part = await this.writeIsolating(collection, half);
        addCounts(result.counts, part.counts);
        result.rejected.push(...part.rejected);
      }

      return result;
    }
  }

  /**
   * Writes one batch in one transaction. A collection's batch holds documents or events, each written by one
   * statement, which is a transaction of its own; a batch that holds both gets BEGIN and COMMIT around the two.
   */
  async write(collection: Collection, entries: ChangeEntry[]): Promise<BatchCounts> {
    const batch = coalesce(entries);
    const counts = noCounts();
    counts.stale = batch.superseded.length;
    const hasDocuments = batch.puts.length + batch.deletes.length > 0;
    const hasEvents = batch.events.length > 0;
    if (!hasDocuments && !hasEvents) {
      return counts;
    }
    const table = qualifiedTable(collection);
    const runner = (await this.database.connect()).createQueryRunner();
    try {
      const client = (await runner.connect()) as PoolClient;
      if (hasDocuments && hasEvents) {
        await runner.startTransaction();
      }
      if (hasDocuments) {
        const written = await this.writeDocuments(client, table, collection.name, batch.puts, batch.deletes);
        counts.inserted += written.inserted;
        counts.updated += written.updated;
        counts.deleted += written.deleted;
        counts.stale += batch.puts.length - written.inserted - written.updated + batch.deletes.length - written.deleted;
      }
      if (hasEvents) {
        const rows = await this.insertEvents(client, table, collection.name, batch.events);
        counts.inserted += rows.length;
        counts.stale += batch.events.length - rows.length;
      }
      if (runner.isTransactionActive) {
        await runner.commitTransaction();
      }

      return counts;
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
  ): Promise<Omit<BatchCounts, 'stale'>> {
    const [written] = await preparedRows<Omit<BatchCounts, 'stale'>>(
      client,
      'spillway:write-documents',
      WRITE_DOCUMENTS,
      [
        collection,
        table,
        puts.map((e) => e.id),
        puts.map((e) => e.version),
        JSON.stringify(puts.map((e) => e.doc)),
        puts.map((e) => e.ingestedAt),
        deletes.map((e) => e.id),
        deletes.map((e) => e.version),
        deletes.map((e) => entryIdMs(e.entryId)),
      ],
    );
    if (written === undefined) {
      throw new Error('spillway_write_documents_v1 returned no row');
    }

    return written;
  }

  private insertEvents(client: PoolClient, table: string, collection: string, events: ChangeEntry[]) {
    return preparedRows<{ id: string }>(client, `spillway:events:${collection}`, insertEvents(table), [
      events.map((e) => e.id),
      JSON.stringify(events.map((e) => e.doc)),
      events.map((e) => e.ingestedAt),
    ]);
  }
}
