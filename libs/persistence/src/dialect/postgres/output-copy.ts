import { escapeIdentifier } from 'pg';
import type { ColumnValue, OutputRow, OutputTable } from '@app/collections';
import { copyField } from './copy-text';
import { outputTableName } from './postgres-names';

/**
 * The rows of documents that have none in an output table yet (`OutputWrite.rowIsNew`) go by `COPY … FROM STDIN`
 * in its text format, straight into the table: no stored row can hold their keys, so they need no conflict check,
 * and COPY takes rows for about half of PostgreSQL's CPU of `INSERT … SELECT unnest(…)`. A stored key all the same
 * (a table written by someone else) fails the COPY with a unique violation, as the insert did: the batch is then
 * written again without new rows, under the version guard. A value the column's type refuses fails it with the
 * same SQLSTATE as the insert's cast, so the batch split still isolates its entry.
 */

/** The `COPY` statement of each output table, built once. */
const copyStatements = new WeakMap<OutputTable, string>();

/** `COPY table (columns…, version) FROM STDIN` for `output`. */
export function copyRowsSql(output: OutputTable): string {
  let sql = copyStatements.get(output);
  if (sql === undefined) {
    const columns = [...output.columns.map((c) => c.name), output.versionColumn].map(escapeIdentifier).join(', ');
    sql = `COPY ${outputTableName(output)} (${columns}) FROM STDIN`;
    copyStatements.set(output, sql);
  }

  return sql;
}

/** A column value as COPY's text format takes it: NULL as `\N`, text escaped, numbers and booleans as text. */
function copyValue(value: ColumnValue | undefined): string {
  if (typeof value === 'string') {
    return copyField(value);
  }
  if (typeof value === 'number') {
    return String(value);
  }
  if (typeof value === 'boolean') {
    return value ? 't' : 'f';
  }

  return '\\N';
}

/**
 * The rows at `indexes` (all when not given) as COPY's text input for {@link copyRowsSql}: a line a row, its columns
 * then its version, separated by tabs.
 */
export function copyRowsText(
  rows: readonly OutputRow[],
  versions: readonly number[],
  indexes?: readonly number[],
): string {
  let text = '';
  const count = indexes === undefined ? rows.length : indexes.length;
  for (let n = 0; n < count; n++) {
    const r = indexes === undefined ? n : (indexes[n] as number);
    const row = rows[r] as OutputRow;
    for (let c = 0; c < row.length; c++) {
      text += `${copyValue(row[c])}\t`;
    }
    text += `${versions[r]}\n`;
  }

  return text;
}
