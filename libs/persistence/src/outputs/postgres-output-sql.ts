import { createHash } from 'node:crypto';
import { escapeIdentifier } from 'pg';
import type { ColumnType, OutputRow, OutputTable } from '@app/collections';
import type { OutputDialect, OutputStatements, Statement } from './output-dialect';
import { ownerColumn } from './owner-keys';

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

/** The quoted, schema-qualified name of an output's table. */
export const tableName = (output: OutputTable): string =>
  `${escapeIdentifier(output.schema)}.${escapeIdentifier(output.table)}`;

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
    remove: statement(`
  DELETE FROM ${tableName(output)} AS t
   USING ROWS FROM (unnest($1::${PG_TYPES[owner.type]}[]), unnest($2::bigint[])) AS d(owner, version)
   WHERE t.${escapeIdentifier(owner.name)} = d.owner AND t.${version} < d.version`),
  };
}

function rowParameters(output: OutputTable, rows: readonly OutputRow[], versions: readonly number[]): unknown[] {
  const parameters: unknown[] = output.columns.map((column, i) => {
    const values = rows.map((row) => row[i] ?? null);

    return column.type === 'jsonb' ? `[${values.map((v) => (v === null ? 'null' : String(v))).join(',')}]` : values;
  });
  parameters.push(versions);

  return parameters;
}

/**
 * Which state rows the current transaction wrote: their `xmin` is its id (spillway_write_documents_v1 runs no
 * subtransaction). An upsert leaves created_at alone and sets updated_at to the entry's ingest time, so an updated row
 * reads as inserted only when its first version was ingested in the same millisecond; that only sways whether a
 * filtered entry is taken from the inserted or the updated count.
 */
const writtenStateRows = (stateTable: string): Statement =>
  statement(`
  SELECT id, created_at = updated_at AS inserted
    FROM ${stateTable}
   WHERE id = ANY($1::text[]) AND xmin = pg_current_xact_id_if_assigned()::xid`);

/** PostgreSQL's {@link OutputDialect}. */
export const postgresOutputSql: OutputDialect = {
  statements: outputStatements,
  rowParameters,
  removalParameters: (ownerKeys, versions) => [ownerKeys, versions],
  writtenStateRows,
};
