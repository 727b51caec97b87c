import type { DataSource } from 'typeorm';
import type { Collection } from '@app/collections';
import type { StateTableReads } from '../sql-dialect';
import { mariadbErrorClasses } from './error-classes';
import { mariadbStateTable } from './mariadb-names';
import { IN_LIST_MAX } from './statement-chunks';

/** Runs a read of `ids` (`… IN (?)` after `leading` values), in IN lists of IN_LIST_MAX; a missing table holds nothing. */
async function readIds<T>(
  dataSource: DataSource,
  sql: string,
  leading: unknown[],
  ids: readonly string[],
): Promise<T[]> {
  const rows: T[] = [];
  try {
    for (let start = 0; start < ids.length; start += IN_LIST_MAX) {
      rows.push(...(await dataSource.query<T[]>(sql, [...leading, ids.slice(start, start + IN_LIST_MAX)])));
    }
  } catch (error) {
    if (mariadbErrorClasses.classify(error) === 'missing-table') {
      return [];
    }
    throw error;
  }

  return rows;
}

/**
 * MariaDB's and MySQL's {@link StateTableReads}. The document is read as `CAST(doc AS CHAR)`: MariaDB's `json` is
 * already text, but mysql2 parses MySQL's JSON type into an object.
 */
export const mariadbStateReads: StateTableReads = {
  async documents(dataSource, collection: Collection, ids) {
    const version = collection.kind === 'document' ? 'version' : '1';
    const rows = await readIds<{ id: string; version: string | number; json: string }>(
      dataSource,
      `SELECT id, ${version} AS version, CAST(doc AS CHAR) AS json FROM ${mariadbStateTable(collection)} WHERE id IN (?)`,
      [],
      ids,
    );

    return new Map(rows.map((r) => [r.id, { version: Number(r.version), json: r.json }]));
  },

  async versions(dataSource, collection, ids) {
    // Two reads, not a join: either table may not exist yet (the sink creates them), and each answers alone.
    type Version = { id: string; version: string | number };
    const [rows, tombstones] = await Promise.all([
      collection.kind === 'document'
        ? readIds<Version>(
            dataSource,
            `SELECT id, version FROM ${mariadbStateTable(collection)} WHERE id IN (?)`,
            [],
            ids,
          )
        : Promise.resolve([]),
      readIds<Version>(
        dataSource,
        'SELECT id, version FROM spillway_tombstones WHERE collection = ? AND id IN (?)',
        [collection.name],
        ids,
      ),
    ]);
    const rowVersions = new Map(rows.map((r) => [r.id, Number(r.version)]));
    const deletedVersions = new Map(tombstones.map((t) => [t.id, Number(t.version)]));

    return new Map(ids.map((id) => [id, { row: rowVersions.get(id) ?? 0, deleted: deletedVersions.get(id) ?? 0 }]));
  },
};
