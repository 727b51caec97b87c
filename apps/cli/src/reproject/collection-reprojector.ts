import type { DataSource, QueryRunner } from 'typeorm';
import type { Collection, Projection, Projector } from '@app/collections';
import {
  type ReprojectedDocument,
  reprojectionWrites,
  type SqlDialect,
  sqlDialectOf,
  type SqlSession,
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
 * 1. walks the state table by id, a batch a transaction; each transaction takes the locks a sink's write of those
 *    documents takes (the dialect's `state.lockDocuments`), then reads their state rows again, so a sink's newer write committed
 *    before is read, and one that comes later waits for the commit and then wins by the version guard;
 * 2. replaces every row of each document in every output (reprojectionWrites), a filtered document losing its rows;
 * 3. removes the rows whose document has no state row (deleted before the outputs had them), except from outputs that
 *    keep rows on delete, a batch of owners a transaction, under the same locks.
 * Events take no lock (a sink takes none for them either): an event's state row and rows are written once, together.
 */
export class CollectionReprojector {
  private readonly dialect: SqlDialect;
  private readonly projector: Projector;

  constructor(
    private readonly dataSource: DataSource,
    private readonly collection: Collection,
  ) {
    if (collection.projector === undefined || collection.outputs.length === 0) {
      throw new Error(`collection ${collection.name} has no outputs (${collection.file} has no "output")`);
    }
    this.projector = collection.projector;
    this.dialect = sqlDialectOf(dataSource);
  }

  /** The state rows there are now, for a progress bar. */
  countDocuments(): Promise<number> {
    return this.dialect.reprojection.countState(this.dataSource, this.collection);
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
      const session = await this.dialect.session(runner);
      await this.walk(runner, session, counts, options);
      await this.removeOrphans(runner, session, counts, options.batchSize);
    } finally {
      await runner.release();
    }

    return counts;
  }

  private async walk(
    runner: QueryRunner,
    session: SqlSession,
    counts: ReprojectionCounts,
    options: ReprojectionOptions,
  ): Promise<void> {
    const { reprojection, state, outputs } = this.dialect;
    const mode = this.collection.kind === 'document' ? 'upsert' : 'insert-once';
    let walked = 0;
    let after = '';
    for (;;) {
      const ids = await reprojection.stateIdsAfter(session, this.collection, after, options.batchSize);
      const last = ids.at(-1);
      if (last === undefined) {
        return;
      }
      after = last;
      const writes = await transaction(runner, async () => {
        if (this.collection.kind === 'document') {
          await state.lockDocuments(session, this.collection.name, ids);
        }
        const documents: ReprojectedDocument[] = [];
        for (const row of await reprojection.stateRows(session, this.collection, ids)) {
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
        await outputs.write(session, batchWrites, 'removals-first');

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

  private async removeOrphans(
    runner: QueryRunner,
    session: SqlSession,
    counts: ReprojectionCounts,
    batchSize: number,
  ): Promise<void> {
    const { reprojection, state } = this.dialect;
    for (const output of this.collection.outputs) {
      if (output.excludeOps.includes('delete')) {
        continue;
      }
      let after: string | null = null;
      for (;;) {
        const owners = await reprojection.orphanOwners(session, output, this.collection, after, batchSize);
        const last = owners.at(-1);
        if (last === undefined) {
          break;
        }
        after = last;
        counts.orphanRows += await transaction(runner, async () => {
          if (this.collection.kind === 'document') {
            await state.lockDocuments(session, this.collection.name, owners);
          }

          return reprojection.removeOrphans(session, output, this.collection, owners);
        });
      }
    }
  }
}

async function transaction<T>(runner: QueryRunner, work: () => Promise<T>): Promise<T> {
  await runner.startTransaction();
  try {
    const result = await work();
    await runner.commitTransaction();

    return result;
  } catch (error) {
    await runner.rollbackTransaction().catch(() => undefined);
    throw error;
  }
}
