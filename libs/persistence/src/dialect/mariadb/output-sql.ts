import type { ColumnType, OutputTable } from '@app/collections';
import type { OutputWriteMode } from '../../outputs/output-writes';
import { ownerColumn } from '../../outputs/owner-keys';
import type { Statement } from '../sql-dialect';
import { mariadbOutputTable, mariadbQuote as quote } from './mariadb-names';

/**
 * The output tables' SQL for MariaDB and MySQL: multi-row statements, the rows in one `?` as literals the dialect
 * writes (row-literals.ts), the removals with one `?` a value (mysql2 fills them in on the client), as many rows a
 * statement as the chunking lets through (statement-chunks.ts). The same text runs on
 * MariaDB 10.11 and MySQL 8.0: no RETURNING, no table value constructor (`VALUES (…)` is MariaDB's, `VALUES ROW(…)`
 * MySQL's), no JSON_TABLE.
 */

/**
 * A text parameter as a value of the owner column's type, compared with the column so that its index answers: an
 * integer column compares with a number, not as a double with a text (which loses digits past 2^53); a uuid char(36)
 * with ASCII text, not a utf8mb4 one the column would be converted to. Between two collations of one character set,
 * both servers compare under the column's `_bin` one.
 */
export function ownerParameter(type: ColumnType): string {
  switch (type) {
    case 'text':
    case 'jsonb':
      return '?';
    case 'uuid':
      return 'CAST(? AS CHAR CHARACTER SET ascii)';
    case 'integer':
    case 'bigint':
      return 'CAST(? AS SIGNED)';
    case 'numeric':
      return 'CAST(? AS DECIMAL(65,30))';
    case 'double':
      // MySQL takes CAST AS DOUBLE from 8.0.17.
      return 'CAST(? AS DOUBLE)';
    case 'boolean':
    case 'timestamptz':
    case 'date':
      throw new Error(`a document id cannot key a ${type} column`);
  }
}

/** The fixed parts of one output table's statements, built once per table. */
interface OutputSqlParts {
  /** `INSERT INTO … (columns…, version) VALUES ` */
  readonly insertInto: string;
  readonly upsertTail: string;
  readonly insertOnceTail: string;
  readonly removalHead: string;
  readonly firstRemoval: string;
  readonly nextRemoval: string;
  readonly removalTail: string;
}

function outputSqlParts(output: OutputTable): OutputSqlParts {
  const version = quote(output.versionColumn);
  const targets = [...output.columns.map((c) => c.name), output.versionColumn].map(quote);
  // ON DUPLICATE KEY UPDATE assigns left to right, each assignment seeing the ones before it: every column is guarded
  // on the stored version, which is assigned last. An older or equal version leaves the row as it is.
  const newer = `VALUES(${version}) > ${version}`;
  const updates = [...output.columns.filter((c) => !c.isKey).map((c) => c.name), output.versionColumn]
    .map(quote)
    .map((c) => `${c} = IF(${newer}, VALUES(${c}), ${c})`);
  const owner = ownerColumn(output);
  const ownerValue = ownerParameter(owner.type);

  return {
    insertInto: `INSERT INTO ${mariadbOutputTable(output)} (${targets.join(', ')}) VALUES `,
    upsertTail: `\nON DUPLICATE KEY UPDATE ${updates.join(', ')}`,
    // A stored key is left alone; INSERT IGNORE would also turn a bad value into a warning and store a mangled row.
    insertOnceTail: `\nON DUPLICATE KEY UPDATE ${version} = ${version}`,
    // A join of the table to the documents given, found by the owner column's index (the primary key's first column
    // for a collection file's output); the documents as a derived table, which both servers take in a DELETE.
    removalHead: `DELETE t FROM ${mariadbOutputTable(output)} AS t JOIN (`,
    firstRemoval: `SELECT ${ownerValue} AS owner_key, ? AS version_below`,
    nextRemoval: ` UNION ALL SELECT ${ownerValue}, ?`,
    removalTail: `) AS d ON t.${quote(owner.name)} = d.owner_key AND t.${version} < d.version_below`,
  };
}

const partsOfTables = new WeakMap<OutputTable, OutputSqlParts>();

function partsOf(output: OutputTable): OutputSqlParts {
  let parts = partsOfTables.get(output);
  if (parts === undefined) {
    parts = outputSqlParts(output);
    partsOfTables.set(output, parts);
  }

  return parts;
}

/** The length of one removal's `UNION ALL SELECT …` in a removals statement, for the chunks' byte estimate. */
export const removalLength = (output: OutputTable): number => partsOf(output).nextRemoval.length;

/**
 * Writes rows, all in the one `?`, which takes a RowsLiteral (row-literals.ts): each row's values in column order,
 * then its version. 'upsert' inserts a row, or updates the stored one when it is older; 'insert-once' leaves a
 * stored key alone.
 */
export function rowsLiteralStatement(output: OutputTable, mode: OutputWriteMode): Statement {
  const parts = partsOf(output);

  return { name: '', text: `${parts.insertInto}?${mode === 'upsert' ? parts.upsertTail : parts.insertOnceTail}` };
}

/**
 * Removes the rows of `count` documents that are older than a version: parameters are each document's owner value
 * (as text, see {@link ownerParameter}) and the version.
 */
export function removalsStatement(output: OutputTable, count: number): Statement {
  const parts = partsOf(output);
  const rest = new Array<string>(Math.max(0, count - 1)).fill(parts.nextRemoval).join('');

  return { name: '', text: `${parts.removalHead}${parts.firstRemoval}${rest}${parts.removalTail}` };
}
