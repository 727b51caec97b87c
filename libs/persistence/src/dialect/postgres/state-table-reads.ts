import type { DataSource } from 'typeorm';
import type { Collection } from '@app/collections';
import type { StateTableReads } from '../sql-dialect';
import { postgresErrorClasses } from './error-classes';
import { postgresTable } from './postgres-names';

/** Runs a read; a table the sink has not created yet holds nothing. */
async function read<T>(dataSource: DataSource, sql: string, parameters: unknown[]): Promise<T[]> {
  try {
    return await dataSource.query<T[]>(sql, parameters);
  } catch (error) {
    if (postgresErrorClasses.classify(error) === 'missing-table') {
      return [];
    }
    throw error;
  }
}

/** PostgreSQL's {@link StateTableReads}. */
export const postgresStateReads: StateTableReads = {
  async documents(dataSource, collection: Collection, ids) {
    const version = collection.kind === 'document' ? 'version' : '1';
    const rows = await read<{ id: string; version: string; json: string }>(
      dataSource,
      `SELECT id, ${version} AS version, doc::text AS json FROM ${postgresTable(collection)} WHERE id = ANY($1::text[])`,
      [ids],
    );

    return new Map(rows.map((r) => [r.id, { version: Number(r.version), json: r.json }]));
  },

  async versions(dataSource, collection, ids) {
    // Two reads, not a join: either table may not exist yet (the sink creates them), and each answers alone.
    const [rows, tombstones] = await Promise.all([
      collection.kind === 'document'
        ? read<{ id: string; version: string }>(
            dataSource,
            `SELECT id, version FROM ${postgresTable(collection)} WHERE id = ANY($1::text[])`,
            [ids],
          )
        : Promise.resolve([]),
      read<{ id: string; version: string }>(
        dataSource,
        `SELECT id, version FROM spillway_tombstones WHERE collection = $1 AND id = ANY($2::text[])`,
        [collection.name, ids],
      ),
    ]);
    const rowVersions = new Map(rows.map((r) => [r.id, Number(r.version)]));
    const deletedVersions = new Map(tombstones.map((t) => [t.id, Number(t.version)]));

    return new Map(ids.map((id) => [id, { row: rowVersions.get(id) ?? 0, deleted: deletedVersions.get(id) ?? 0 }]));
  },
};
