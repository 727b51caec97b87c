import type { PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import type { Collection, Projection, Projector } from '@app/collections';
import {
  lockDocuments,
  OutputRowsReplacer,
  postgresOutputSql,
  postgresReprojectionSql as sql,
  preparedRows,
  type ReprojectedDocument,
  reprojectionWrites,
  type Statement,
} from '@app/persistence';

/** What a reprojection did. */
export interface ReprojectionCounts {
  /** State rows reprojected (the filtered ones included, the invalid ones not). */
  documents: number;
  filtered: number;
  invalid: number;
  /** Rows written, by output table (`schema.table`), in the order of the collection's outputs. */
  rows: Map<string, number>;
  /** Rows removed because their document has no state row. */
  orphanRows: number;
}

export interface ReprojectionOptions {
  /** Documents a transaction. */
  batchSize: number;
  /** After each batch: how many state rows were walked so far. */
  onProgress?: (walked: number) => void;
  /** A document whose projection is invalid: it is skipped, its rows are left as they are. */
  onInvalid?: (id: string, reason: string) => void;
}

const outputName = (output: { schema: string; table: string }) => `${output.schema}.${output.table}`;

function project(projector: Projector, doc: unknown): Projection {
  try {
    return projector.project(doc);
  } catch (error) {
    return { kind: 'invalid', reason: `the projection failed: ${(error as Error).message}` };
  }
}

/**
 * Rewrites a collection's output tables from its state table, safe while sinks write the same documents:
 * 1. walks the state table by id, a batch a transaction; each transaction takes the advisory locks a sink's write of
 *    those documents takes (lockDocuments), then reads their state rows again, so a sink's newer write committed
 *    before is read, and one that comes later waits for the commit and then wins by the version guard;
 * 2. replaces every row of each document in every output (reprojectionWrites), a filtered document losing its rows;
 * 3. removes the rows whose document has no state row (deleted before the outputs had them), except from outputs that
 *    keep rows on delete, a batch of owners a transaction, under the same locks.
 * Events take no lock (a sink takes none for them either): an event's state row and rows are written once, together.
 */
export class CollectionReprojector {
  private readonly replacer = new OutputRowsReplacer(postgresOutputSql);
  private readonly projector: Projector;

  constructor(
    private readonly dataSource: DataSource,
    private readonly collection: Collection,
  ) {
    if (collection.projector === undefined || collection.outputs.length === 0) {
      throw new Error(`collection ${collection.name} has no outputs (${collection.file} has no "output")`);
    }
    this.projector = collection.projector;
  }

  /** The state rows there are now, for a progress bar. */
  async countDocuments(): Promise<number> {
    const { text } = sql.countState(this.collection);
    const [row] = await this.dataSource.query<{ n: number }[]>(text);

    return row?.n ?? 0;
  }

  async run(options: ReprojectionOptions): Promise<ReprojectionCounts> {
    const counts: ReprojectionCounts = {
      documents: 0,
      filtered: 0,
      invalid: 0,
      rows: new Map(this.collection.outputs.map((o) => [outputName(o), 0])),
      orphanRows: 0,
    };
    const runner = this.dataSource.createQueryRunner();
    try {
      const client = (await runner.connect()) as PoolClient;
      await this.walk(client, counts, options);
      await this.removeOrphans(client, counts, options.batchSize);
    } finally {
      await runner.release();
    }

    return counts;
  }

  private async walk(client: PoolClient, counts: ReprojectionCounts, options: ReprojectionOptions): Promise<void> {
    const nextIds = sql.stateIdsAfter(this.collection);
    const readRows = sql.stateRows(this.collection);
    const mode = this.collection.kind === 'document' ? 'upsert' : 'insert-once';
    let walked = 0;
    let after = '';
    for (;;) {
      const ids = (await run<{ id: string }>(client, nextIds, [after, options.batchSize])).map((r) => r.id);
      const last = ids.at(-1);
      if (last === undefined) {
        return;
      }
      after = last;
      const writes = await transaction(client, async () => {
        if (this.collection.kind === 'document') {
          await lockDocuments(client, this.collection.name, ids);
        }
        const documents: ReprojectedDocument[] = [];
        for (const row of await run<{ id: string; version: number; doc: unknown }>(client, readRows, [ids])) {
          const projection = project(this.projector, row.doc);
          if (projection.kind === 'invalid') {
            counts.invalid += 1;
            options.onInvalid?.(row.id, projection.reason);
            continue;
          }
          counts.documents += 1;
          counts.filtered += projection.kind === 'filtered' ? 1 : 0;
          documents.push({ id: row.id, version: row.version, projection });
        }
        const batchWrites = reprojectionWrites(this.collection.outputs, documents, mode);
        await this.replacer.run(client, batchWrites);

        return batchWrites;
      });
      for (const write of writes) {
        const name = outputName(write.output);
        counts.rows.set(name, (counts.rows.get(name) ?? 0) + write.rows.length);
      }
      walked += ids.length;
      options.onProgress?.(walked);
    }
  }

  private async removeOrphans(client: PoolClient, counts: ReprojectionCounts, batchSize: number): Promise<void> {
    for (const output of this.collection.outputs) {
      if (output.excludeOps.includes('delete')) {
        continue;
      }
      const findOwners = sql.orphanOwners(output, this.collection);
      const remove = sql.removeOrphans(output, this.collection);
      let after: string | null = null;
      for (;;) {
        const owners: string[] = (await run<{ owner: string }>(client, findOwners, [after, batchSize])).map(
          (r) => r.owner,
        );
        const last = owners.at(-1);
        if (last === undefined) {
          break;
        }
        after = last;
        counts.orphanRows += await transaction(client, async () => {
          if (this.collection.kind === 'document') {
            await lockDocuments(client, this.collection.name, owners);
          }

          return (await client.query({ name: remove.name, text: remove.text, values: [owners] })).rowCount ?? 0;
        });
      }
    }
  }
}

function run<T>(client: PoolClient, statement: Statement, values: unknown[]): Promise<T[]> {
  return preparedRows<T>(client, statement.name, statement.text, values);
}

async function transaction<T>(client: PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');

    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
