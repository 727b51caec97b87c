import { escapeIdentifier } from 'pg';
import type { Collection, ColumnType, OutputTable } from '@app/collections';
import { ownerColumn } from '../../outputs/owner-keys';
import type { ReprojectionQueries, Statement } from '../sql-dialect';
import { PG_TYPES, statement } from './output-sql';
import { outputTableName as tableName, postgresTable as qualifiedTable } from './postgres-names';

const DECIMAL = `'^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]{1,3})?$'`;
const UUID = `'^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'`;

/**
 * True when the state row `s` is the document `owner` (an owner column's value) belongs to: its id is the value as
 * the sink wrote it (owner-keys.ts), in any spelling the column's type reads as that value ("007" for 7, upper case
 * for a uuid), without a cast that could fail on the ids of other documents.
 */
function ownedBy(type: ColumnType, owner: string): string {
  switch (type) {
    case 'text':
      return `s.id = ${owner}`;
    case 'jsonb':
      return `to_jsonb(s.id) = ${owner}`;
    case 'uuid':
      return `(s.id = ${owner}::text OR (s.id ~* ${UUID} AND lower(replace(s.id, '-', '')) = replace(${owner}::text, '-', '')))`;
    case 'integer':
    case 'bigint':
    case 'numeric':
      return `(s.id = ${owner}::text OR CASE WHEN s.id ~ ${DECIMAL} THEN s.id::numeric = ${owner}::numeric ELSE false END)`;
    case 'double':
      // The database refuses what overflows or underflows a double: such an id owns no row.
      return `(s.id = ${owner}::text OR CASE WHEN s.id !~ ${DECIMAL} THEN false
        WHEN abs(s.id::numeric) > 1e308 OR (s.id::numeric <> 0 AND abs(s.id::numeric) < 1e-307) THEN false
        ELSE s.id::float8 = ${owner} END)`;
    case 'boolean':
    case 'timestamptz':
    case 'date':
      throw new Error(`a document id cannot key a ${type} column`);
  }
}

/**
 * The SQL `spillway reproject` runs on PostgreSQL besides the output statements (output-sql.ts): the walk of a
 * collection's state table by id, and the removal of output rows whose document has no state row.
 */
const sql = {
  /** Parameters: the last id of the page before ('' for the first), the page's size. Returns `id`, in id order. */
  stateIdsAfter: (collection: Collection): Statement =>
    statement(`SELECT id FROM ${qualifiedTable(collection)} WHERE id > $1 ORDER BY id LIMIT $2`),

  /** Parameter: ids (text[]). Returns `id`, `version` (1 for an event, as the sink writes it) and `doc`. */
  stateRows: (collection: Collection): Statement =>
    statement(
      `SELECT id, ${collection.kind === 'document' ? 'version' : '1'}::float8 AS version, doc
         FROM ${qualifiedTable(collection)} WHERE id = ANY($1::text[])`,
    ),

  /** Rows in the state table. */
  countState: (collection: Collection): Statement =>
    statement(`SELECT count(*)::float8 AS n FROM ${qualifiedTable(collection)}`),

  /**
   * Owner values (as text) of an output's rows whose document has no state row, in order, after the one given
   * (NULL for the first page). Parameters: the owner before, the page's size. Returns `owner`.
   */
  orphanOwners: (output: OutputTable, collection: Collection): Statement => {
    const owner = ownerColumn(output);
    const column = `t.${escapeIdentifier(owner.name)}`;

    return statement(`
  SELECT o.owner::text AS owner FROM (
    SELECT DISTINCT ${column} AS owner FROM ${tableName(output)} AS t
     WHERE ($1::text IS NULL OR ${column} > $1::text::${PG_TYPES[owner.type]})
       AND NOT EXISTS (SELECT 1 FROM ${qualifiedTable(collection)} AS s WHERE ${ownedBy(owner.type, column)})
     ORDER BY 1 LIMIT $2) AS o
   ORDER BY o.owner`);
  },

  /** Removes the rows of the owners given (text[]) that still have no state row. */
  removeOrphans: (output: OutputTable, collection: Collection): Statement => {
    const owner = ownerColumn(output);
    const column = `t.${escapeIdentifier(owner.name)}`;

    return statement(`
  DELETE FROM ${tableName(output)} AS t
   WHERE ${column} = ANY($1::text[]::${PG_TYPES[owner.type]}[])
     AND NOT EXISTS (SELECT 1 FROM ${qualifiedTable(collection)} AS s WHERE ${ownedBy(owner.type, column)})`);
  },
};

/** PostgreSQL's {@link ReprojectionQueries}. */
export const postgresReprojectionQueries: ReprojectionQueries = {
  async stateIdsAfter(session, collection, after, limit) {
    return (await session.rows<{ id: string }>(sql.stateIdsAfter(collection), [after, limit])).map((r) => r.id);
  },
  stateRows: (session, collection, ids) =>
    session.rows<{ id: string; version: number; doc: unknown }>(sql.stateRows(collection), [ids]),
  async countState(dataSource, collection) {
    const [row] = await dataSource.query<{ n: number }[]>(sql.countState(collection).text);

    return row?.n ?? 0;
  },
  async orphanOwners(session, output, collection, after, limit) {
    const rows = await session.rows<{ owner: string }>(sql.orphanOwners(output, collection), [after, limit]);

    return rows.map((r) => r.owner);
  },
  removeOrphans: (session, output, collection, owners) =>
    session.changes(sql.removeOrphans(output, collection), [owners]),
};
