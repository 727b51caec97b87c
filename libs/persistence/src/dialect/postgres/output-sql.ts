import { createHash } from 'node:crypto';
import { escapeIdentifier } from 'pg';
import type { ColumnType, OutputRow, OutputTable } from '@app/collections';
import { ownerColumn } from '../../outputs/owner-keys';
import type { Statement } from '../sql-dialect';
import { arrayElement, arrayLiteral } from './array-literals';
import { outputTableName as tableName } from './postgres-names';

/**
 * The output tables' SQL for PostgreSQL. Rows travel column by column as arrays (one parameter a column, cast to the
 * column's type, unnested side by side), so a batch costs one statement for the rows of all its tables and one for
 * their removals, whatever its rows (`partsStatement`). Each array goes as the text of an array literal built here
 * (array-literals.ts), where an array of values would have the driver inspect and escape every element. A jsonb
 * column travels as one JSON array of its values' texts, which a string join builds; a JSON null in it stands for
 * NULL.
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

/** How a part of a statement writes one output table. */
export type PartKind =
  /** Inserts rows, or updates a stored row from a newer version only. Parameters: {@link rowParameters}. */
  | 'upsert'
  /** Inserts rows whose key is not stored yet. Parameters: {@link rowParameters}. */
  | 'insert-once'
  /**
   * Inserts rows that no stored row can conflict with (their documents have no rows in the table: see
   * `OutputWrite.rowIsNew`), without ON CONFLICT: a speculative insertion costs PostgreSQL about 2 µs more a row
   * (2000 transactions of 230 session_screens rows: 2.7 CPU-s with ON CONFLICT, 1.7 without). A stored key makes it
   * fail with a unique violation. Parameters: {@link rowParameters}.
   */
  | 'insert-new'
  /**
   * Removes the rows of documents that are older than a version. Parameters: the owner column's values and versions
   * ({@link removalParameters}).
   */
  | 'remove';

/** One output table's part of a statement: what it does, and its parameters. */
export interface StatementPart {
  readonly output: OutputTable;
  readonly kind: PartKind;
  readonly parameters: readonly string[];
}

/** `INSERT INTO … (columns, version) SELECT …` from the row parameters from `$first`, without ON CONFLICT. */
function insertRows(output: OutputTable, first: number): string {
  const targets = [...output.columns.map((c) => c.name), output.versionColumn].map(escapeIdentifier).join(', ');
  const at = (i: number) => `$${first + i}`;
  const sources = output.columns.map((c, i) =>
    c.type === 'jsonb' ? `jsonb_array_elements(${at(i)}::jsonb)` : `unnest(${at(i)}::${PG_TYPES[c.type]}[])`,
  );
  sources.push(`unnest(${at(output.columns.length)}::bigint[])`);
  const values = output.columns.map((c, i) => (c.type === 'jsonb' ? `nullif(r.c${i}, 'null'::jsonb)` : `r.c${i}`));
  values.push('r.version');
  const aliases = [...output.columns.map((_, i) => `c${i}`), 'version'].join(', ');

  return `
  INSERT INTO ${tableName(output)} AS t (${targets})
  SELECT ${values.join(', ')}
    FROM ROWS FROM (${sources.join(', ')}) AS r(${aliases})`;
}

/** The SQL of one part, its parameters from `$first`. */
function partSql(output: OutputTable, kind: PartKind, first: number): string {
  const version = escapeIdentifier(output.versionColumn);
  switch (kind) {
    case 'upsert': {
      const keys = output.columns.filter((c) => c.isKey).map((c) => escapeIdentifier(c.name));
      const updates = [...output.columns.filter((c) => !c.isKey).map((c) => c.name), output.versionColumn]
        .map(escapeIdentifier)
        .map((c) => `${c} = excluded.${c}`);

      return `${insertRows(output, first)}
  ON CONFLICT (${keys.join(', ')}) DO UPDATE
     SET ${updates.join(', ')}
   WHERE t.${version} < excluded.${version}`;
    }
    case 'insert-once':
      return `${insertRows(output, first)}
  ON CONFLICT DO NOTHING`;
    case 'insert-new':
      return insertRows(output, first);
    case 'remove': {
      const owner = ownerColumn(output);

      return `
  DELETE FROM ${tableName(output)} AS t
   USING ROWS FROM (unnest($${first}::${PG_TYPES[owner.type]}[]), unnest($${first + 1}::bigint[])) AS d(owner, version)
   WHERE t.${escapeIdentifier(owner.name)} = d.owner AND t.${version} < d.version`;
    }
  }
}

/**
 * A removal joins the documents given (tens to hundreds) to the table by owner, which its index answers in a nested
 * loop. Until a table is first analyzed (autovacuum can take minutes; a drain into a new table is over sooner) the
 * planner takes 200 distinct owners, so thousands of rows for each, and hash-joins a seq scan of the whole table:
 * 108 ms against 1.3 ms for 50 documents in a 480,000-row session_screens. Only the nested loop is left to it, for
 * the rest of the transaction: by this statement, or by a rows statement that runs before the removals.
 */
const REMOVAL_PLANNER = `SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`;

/** Sets the planner for the removals, when no rows statement comes before them to do it. */
export const BEFORE_REMOVALS: Statement = { name: 'spillway:before-removals', text: REMOVAL_PLANNER };

/** A number for each output table, for the keys of {@link statementsByParts}. */
const tableIds = new WeakMap<OutputTable, number>();
let tableIdCount = 0;
/** The statements of the combinations of parts met so far: a handful per collection, built once each. */
const statementsByParts = new Map<string, Statement>();

/**
 * The one statement that writes several parts, each a data-modifying CTE (a part alone is its statement): a round
 * trip of a few tens of µs of CPU on each side saved for every part but one, in each batch. Its parts never write
 * the same row: the removals go in a statement of their own (one of them can remove the rows older than what a
 * rows part upserts), and a table's new and upserted rows belong to different documents. With
 * `setsRemovalPlanner`, it also sets the planner for the removals that follow it (BEFORE_REMOVALS), which cannot
 * change its own plan. A statement of rows is prepared (named by its text); one of removals is planned for each
 * run's values (unnamed), as a plan cached while a table was small (an output table starts empty) seq-scans it for
 * good: in a 100,000-document drain on 2 cores that took a removal from well under 1 ms a batch to 10 ms.
 */
export function partsStatement(parts: readonly StatementPart[], setsRemovalPlanner = false): Statement {
  const key = `${parts.map((p) => `${tableIdOf(p.output)}:${p.kind}`).join(',')}${setsRemovalPlanner ? '+' : ''}`;
  let cached = statementsByParts.get(key);
  if (cached === undefined) {
    let first = 1;
    const texts = parts.map((part) => {
      const text = partSql(part.output, part.kind, first);
      first += part.parameters.length;

      return text;
    });
    const text =
      texts.length === 1 && !setsRemovalPlanner
        ? (texts[0] as string)
        : `WITH ${texts.map((t, i) => `w${i} AS (${t})`).join(', ')}
  ${setsRemovalPlanner ? REMOVAL_PLANNER : 'SELECT 1'}`;
    cached = parts.every((p) => p.kind === 'remove') ? replanned(text) : statement(text);
    statementsByParts.set(key, cached);
  }

  return cached;
}

function tableIdOf(output: OutputTable): number {
  let id = tableIds.get(output);
  if (id === undefined) {
    id = tableIdCount += 1;
    tableIds.set(output, id);
  }

  return id;
}

/** The parameters of a removal part: the owner column's values (as text) and the versions. */
export function removalParameters(removals: { readonly ownerKeys: string[]; readonly versions: number[] }): string[] {
  return [arrayLiteral(removals.ownerKeys), arrayLiteral(removals.versions)];
}

/**
 * The parameters of a rows part for the rows at `indexes` (all when not given): the rows column by column, then each
 * row's version, each column as the text of its array literal (a jsonb column as a JSON array).
 */
export function rowParameters(
  output: OutputTable,
  rows: readonly OutputRow[],
  versions: readonly number[],
  indexes?: readonly number[],
): string[] {
  const parameters = output.columns.map((column, i) => columnParameter(column.type, rows, i, indexes));
  parameters.push(arrayLiteral(indexes === undefined ? versions : indexes.map((r) => versions[r])));

  return parameters;
}

function columnParameter(
  type: ColumnType,
  rows: readonly OutputRow[],
  column: number,
  indexes: readonly number[] | undefined,
): string {
  // Built straight from the rows, without an array of the column's values first.
  const count = indexes === undefined ? rows.length : indexes.length;
  const jsonb = type === 'jsonb';
  let text = jsonb ? '[' : '{';
  for (let n = 0; n < count; n++) {
    const row = rows[indexes === undefined ? n : (indexes[n] as number)];
    const value = row?.[column];
    if (n > 0) {
      text += ',';
    }
    text += jsonb ? (value === null || value === undefined ? 'null' : String(value)) : arrayElement(value);
  }

  return text + (jsonb ? ']' : '}');
}
