import { createHash } from 'node:crypto';
import { escapeIdentifier } from 'pg';
import type { ColumnType, OutputRow, OutputTable } from '@app/collections';
import { ownerColumn } from '../../outputs/owner-keys';
import type { Statement } from '../sql-dialect';
import { outputTableName as tableName } from './postgres-names';

/**
 * The output tables' SQL for PostgreSQL. Rows travel column by column as arrays (one parameter a column, cast to the
 * column's type, unnested side by side), so a table costs one statement a batch whatever its rows. A jsonb column
 * travels as one JSON array of its values' texts, which a string join builds, where a jsonb[] parameter would have
 * the driver escape every quote of every value; a JSON null in it stands for NULL.
 */

/** The PostgreSQL type of each column type. */
export const PG_TYPES: Readonly<Record<ColumnType, string>> = {
  text: 'text',
  integer: 'integer',
  bigint: 'bigint',
  numeric: 'numeric',
  double: 'float8',
  boolean: 'boolean',
  timestamptz: 'timestamptz',
  date: 'date',
  uuid: 'uuid',
  jsonb: 'jsonb',
};

/** A statement, named by a digest of its text. */
export const statement = (text: string): Statement => ({
  name: `spillway:${createHash('sha1').update(text).digest('hex').slice(0, 24)}`,
  text,
});

/**
 * A statement planned for each run's values (sent unnamed): for a join whose best plan depends on the table's size.
 * A removal by owner prepared once got a generic plan while its table was nearly empty (a hash join over a seq scan)
 * and kept it as the table grew: in a 100,000-document drain on 2 cores its mean time rose to 10 ms a batch for
 * session_screens and 2.3 ms for session_facts (3 deletes), against well under 1 ms planned each time.
 */
const replanned = (text: string): Statement => ({ name: '', text });

/** The statements that write one output table; each takes whole arrays, so a table costs one statement a batch. */
export interface OutputStatements {
  /** Inserts rows, or updates a stored row from a newer version only. Parameters: {@link rowParameters}. */
  readonly upsert: Statement;
  /** Inserts rows whose key is not stored yet. Parameters: {@link rowParameters}. */
  readonly insertOnce: Statement;
  /**
   * Removes the rows of documents that are older than a version. Parameters: the owner column's values (as text) and
   * versions. Planned for each run: a plan cached while the table was small (an output table starts empty) seq-scans
   * it for good, as no ANALYZE may come during a drain to invalidate it.
   */
  readonly remove: Statement;
}

/** `INSERT INTO … (columns, version) SELECT …` from the row parameters, without its ON CONFLICT clause. */
function insertRows(output: OutputTable): string {
  const targets = [...output.columns.map((c) => c.name), output.versionColumn].map(escapeIdentifier).join(', ');
  const sources = output.columns.map((c, i) =>
    c.type === 'jsonb' ? `jsonb_array_elements($${i + 1}::jsonb)` : `unnest($${i + 1}::${PG_TYPES[c.type]}[])`,
  );
  sources.push(`unnest($${output.columns.length + 1}::bigint[])`);
  const values = output.columns.map((c, i) => (c.type === 'jsonb' ? `nullif(r.c${i}, 'null'::jsonb)` : `r.c${i}`));
  values.push('r.version');
  const aliases = [...output.columns.map((_, i) => `c${i}`), 'version'].join(', ');

  return `
  INSERT INTO ${tableName(output)} AS t (${targets})
  SELECT ${values.join(', ')}
    FROM ROWS FROM (${sources.join(', ')}) AS r(${aliases})`;
}

function outputStatements(output: OutputTable): OutputStatements {
  const version = escapeIdentifier(output.versionColumn);
  const keys = output.columns.filter((c) => c.isKey).map((c) => escapeIdentifier(c.name));
  const updates = [...output.columns.filter((c) => !c.isKey).map((c) => c.name), output.versionColumn]
    .map(escapeIdentifier)
    .map((c) => `${c} = excluded.${c}`);
  const owner = ownerColumn(output);

  return {
    upsert: statement(`${insertRows(output)}
  ON CONFLICT (${keys.join(', ')}) DO UPDATE
     SET ${updates.join(', ')}
   WHERE t.${version} < excluded.${version}`),
    insertOnce: statement(`${insertRows(output)}
  ON CONFLICT DO NOTHING`),
    remove: replanned(`
  DELETE FROM ${tableName(output)} AS t
   USING ROWS FROM (unnest($1::${PG_TYPES[owner.type]}[]), unnest($2::bigint[])) AS d(owner, version)
   WHERE t.${escapeIdentifier(owner.name)} = d.owner AND t.${version} < d.version`),
  };
}

/** The parameters of the row statements: the rows column by column, then each row's version. */
export function rowParameters(output: OutputTable, rows: readonly OutputRow[], versions: readonly number[]): unknown[] {
  const parameters: unknown[] = output.columns.map((column, i) => {
    const values = rows.map((row) => row[i] ?? null);

    return column.type === 'jsonb' ? `[${values.map((v) => (v === null ? 'null' : String(v))).join(',')}]` : values;
  });
  parameters.push(versions);

  return parameters;
}

/**
 * A removal joins the documents given (tens to hundreds) to the table by owner, which its index answers in a nested
 * loop. Until a table is first analyzed (autovacuum can take minutes; a drain into a new table is over sooner) the
 * planner takes 200 distinct owners, so thousands of rows for each, and hash-joins a seq scan of the whole table:
 * 108 ms against 1.3 ms for 50 documents in a 480,000-row session_screens. Only the nested loop is left to it.
 */
export const BEFORE_REMOVALS: Statement = {
  name: 'spillway:before-removals',
  text: `SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`,
};

/** Built once per output table: its texts, and their prepared-statement names, never change. */
const statementsOfTables = new WeakMap<OutputTable, OutputStatements>();

/** The statements of one output table; built once per table and kept (call it for every batch). */
export function statementsOf(output: OutputTable): OutputStatements {
  let statements = statementsOfTables.get(output);
  if (statements === undefined) {
    statements = outputStatements(output);
    statementsOfTables.set(output, statements);
  }

  return statements;
}
