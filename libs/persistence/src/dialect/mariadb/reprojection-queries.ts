import type { Collection, ColumnType, OutputTable } from '@app/collections';
import { ownerColumn } from '../../outputs/owner-keys';
import type { ReprojectionQueries, SqlSession, Statement } from '../sql-dialect';
import { mariadbOutputTable, mariadbQuote as quote, mariadbStateTable } from './mariadb-names';
import { statementBytesOfSession } from './mariadb-session';
import { ownerParameter } from './output-sql';
import { ownerValue } from './output-values';
import { chunkRows, quotedBytes } from './statement-chunks';

// Regular expressions both servers read alike (MariaDB's PCRE, MySQL 8's ICU), without `?` (a placeholder to mysql2)
// or a backslash (an escape in a string literal).
const UUID_ID = `'^[0-9a-fA-F]{8}-{0,1}[0-9a-fA-F]{4}-{0,1}[0-9a-fA-F]{4}-{0,1}[0-9a-fA-F]{4}-{0,1}[0-9a-fA-F]{12}$'`;
/** The ids an integer key column takes (column-conversions.ts: up to 30 digits), which DECIMAL(65,0) holds. */
const INTEGER_ID = `'^[+-]{0,1}[0-9]{1,30}$'`;
/**
 * Decimal ids short enough that a DOUBLE holds them without overflow or underflow (at most 40 digits a part and a
 * 2-digit exponent: within 10^±140): a cast that overflows warns, which MySQL's strict mode makes an error in a
 * DELETE. A longer spelling owns no row here, where PostgreSQL's numeric would still read it.
 */
const DECIMAL_ID = `'^[+-]{0,1}([0-9]{1,40}([.][0-9]{0,40}){0,1}|[.][0-9]{1,40})([eE][+-]{0,1}[0-9]{1,2}){0,1}$'`;

/**
 * True when the state row `s` is the document `owner` (an owner column's value) belongs to: its id is the value as
 * the sink wrote it (owner-keys.ts), in any spelling the column's type reads as that value ("007" for 7, upper case
 * for a uuid), with casts only of ids that cannot fail them (a CASE evaluates its branches in order).
 */
function ownedBy(type: ColumnType, owner: string): string {
  switch (type) {
    case 'text':
      return `s.id = ${owner}`;
    case 'jsonb':
      return `s.id = JSON_UNQUOTE(${owner})`;
    case 'uuid':
      return `(s.id = ${owner} OR (s.id REGEXP ${UUID_ID} AND LOWER(REPLACE(s.id, '-', '')) = REPLACE(${owner}, '-', '')))`;
    case 'integer':
    case 'bigint':
      return `CASE WHEN s.id REGEXP ${INTEGER_ID} THEN CAST(s.id AS DECIMAL(65,0)) = ${owner} ELSE FALSE END`;
    case 'numeric':
      // decimal(65,30) holds below 10^35: a larger id's rows were refused, and its cast would overflow.
      return `CASE WHEN s.id NOT REGEXP ${DECIMAL_ID} THEN FALSE WHEN ABS(s.id + 0e0) >= 1e35 THEN FALSE
        ELSE CAST(s.id AS DECIMAL(65,30)) = ${owner} END`;
    case 'double':
      return `CASE WHEN s.id REGEXP ${DECIMAL_ID} THEN s.id + 0e0 = ${owner} ELSE FALSE END`;
    case 'boolean':
    case 'timestamptz':
    case 'date':
      throw new Error(`a document id cannot key a ${type} column`);
  }
}

/** A whole number to splice into a LIMIT (a `?` there is a quoted text to a server that prepares it). */
function limitOf(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new Error(`a page holds a positive whole number of rows (got ${limit})`);
  }

  return limit;
}

/** `(?, ?, …)`, one for each of `count` values. */
const placeholders = (count: number, each = '?'): string => `(${new Array<string>(count).fill(each).join(', ')})`;

/**
 * The SQL `spillway reproject` runs on MariaDB and MySQL besides the output statements (output-sql.ts): the walk of
 * a collection's state table by id, and the removal of output rows whose document has no state row.
 */
const sql = {
  stateIdsAfter: (collection: Collection, limit: number): Statement => ({
    name: '',
    text: `SELECT id FROM ${mariadbStateTable(collection)} WHERE id > ? ORDER BY id LIMIT ${limitOf(limit)}`,
  }),

  /** Returns `id`, `version` (1 for an event, as the sink writes it) and `doc`, of `count` ids. */
  stateRows: (collection: Collection, count: number): Statement => ({
    name: '',
    text: `SELECT id, ${collection.kind === 'document' ? 'version' : '1'} AS version, doc
             FROM ${mariadbStateTable(collection)} WHERE id IN ${placeholders(count)}`,
  }),

  countState: (collection: Collection): Statement => ({
    name: '',
    text: `SELECT COUNT(*) AS n FROM ${mariadbStateTable(collection)}`,
  }),

  /**
   * Owner values (as text) of an output's rows whose document has no state row, in the column's order, after the
   * owner given (a parameter) unless this is the first page.
   */
  orphanOwners: (output: OutputTable, collection: Collection, firstPage: boolean, limit: number): Statement => {
    const owner = ownerColumn(output);
    const column = `t.${quote(owner.name)}`;
    const after = firstPage ? '' : `${column} > ${ownerParameter(owner.type)} AND `;

    return {
      name: '',
      text: `
  SELECT CAST(${column} AS CHAR) AS owner FROM ${mariadbOutputTable(output)} AS t
   WHERE ${after}NOT EXISTS (SELECT 1 FROM ${mariadbStateTable(collection)} AS s WHERE ${ownedBy(owner.type, column)})
   GROUP BY ${column} ORDER BY ${column} LIMIT ${limitOf(limit)}`,
    };
  },

  /** Removes the rows of `count` owners (parameters, as text) that still have no state row. */
  removeOrphans: (output: OutputTable, collection: Collection, count: number): Statement => {
    const owner = ownerColumn(output);
    const column = `t.${quote(owner.name)}`;

    return {
      name: '',
      text: `
  DELETE t FROM ${mariadbOutputTable(output)} AS t
   WHERE ${column} IN ${placeholders(count, ownerParameter(owner.type))}
     AND NOT EXISTS (SELECT 1 FROM ${mariadbStateTable(collection)} AS s WHERE ${ownedBy(owner.type, column)})`,
    };
  },
};

/** `texts` in runs that a statement takes (statement-chunks.ts). */
async function chunksOf(session: SqlSession, texts: readonly string[]): Promise<string[][]> {
  const maxBytes = await statementBytesOfSession(session);

  return chunkRows(texts, { valuesPerRow: 1, maxBytes, bytesOf: (text) => quotedBytes(text) + 64 });
}

/**
 * A state row's document: mysql2 parses a JSON column (MySQL's type, and MariaDB's LONGTEXT, which its metadata marks
 * as JSON), unless told to keep JSON as text; a document is an object, never a JSON string.
 */
const parsedDoc = (doc: unknown): unknown => (typeof doc === 'string' ? JSON.parse(doc) : doc);

/** MariaDB's and MySQL's {@link ReprojectionQueries}. */
export const mariadbReprojectionQueries: ReprojectionQueries = {
  async stateIdsAfter(session, collection, after, limit) {
    const rows = await session.rows<{ id: string }>(sql.stateIdsAfter(collection, limit), [after]);

    return rows.map((r) => r.id);
  },

  async stateRows(session, collection, ids) {
    const rows: { id: string; version: number; doc: unknown }[] = [];
    for (const chunk of await chunksOf(session, ids)) {
      const read = await session.rows<{ id: string; version: number | string; doc: unknown }>(
        sql.stateRows(collection, chunk.length),
        chunk,
      );
      // A BIGINT reads as text under TypeORM's bigNumberStrings.
      rows.push(...read.map((r) => ({ id: r.id, version: Number(r.version), doc: parsedDoc(r.doc) })));
    }

    return rows;
  },

  async countState(dataSource, collection) {
    const [row] = await dataSource.query<{ n: number | string }[]>(sql.countState(collection).text);

    return Number(row?.n ?? 0);
  },

  async orphanOwners(session, output, collection, after, limit) {
    const ownerType = ownerColumn(output).type;
    const bound = after === null ? undefined : ownerValue(ownerType, after);
    if (after !== null && bound === undefined) {
      return [];
    }
    const statement = sql.orphanOwners(output, collection, bound === undefined, limit);
    const rows = await session.rows<{ owner: string }>(statement, bound === undefined ? [] : [bound]);

    return rows.map((r) => String(r.owner));
  },

  async removeOrphans(session, output, collection, owners) {
    const ownerType = ownerColumn(output).type;
    const values = owners.flatMap((owner) => ownerValue(ownerType, owner) ?? []);
    let removed = 0;
    for (const chunk of await chunksOf(session, values)) {
      removed += await session.changes(sql.removeOrphans(output, collection, chunk.length), chunk);
    }

    return removed;
  },
};
