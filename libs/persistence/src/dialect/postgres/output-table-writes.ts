import type { OutputWrite } from '../../outputs/output-writes';
import type { OutputTableWrites } from '../sql-dialect';
import { BEFORE_REMOVALS, partsStatement, removalParameters, rowParameters, type StatementPart } from './output-sql';

/** The indexes of the rows whose `rowIsNew` is `isNew`. */
function rowsWhere(write: OutputWrite, isNew: boolean): number[] {
  const indexes: number[] = [];
  write.rowIsNew.forEach((flag, i) => {
    if (flag === isNew) {
      indexes.push(i);
    }
  });

  return indexes;
}

/**
 * A write's rows as parts: inserted once (events), or upserted under the version guard; in 'upsert' mode the rows
 * of documents that have none in the table yet are inserted without a conflict check, in a part of their own.
 */
function rowParts(write: OutputWrite): StatementPart[] {
  const { output, rows, rowVersions } = write;
  if (rows.length === 0) {
    return [];
  }
  if (write.mode === 'insert-once') {
    return [{ output, kind: 'insert-once', parameters: rowParameters(output, rows, rowVersions) }];
  }
  const newRows = write.rowIsNew.filter((isNew) => isNew).length;
  if (newRows === 0 || newRows === rows.length) {
    return [
      { output, kind: newRows === 0 ? 'upsert' : 'insert-new', parameters: rowParameters(output, rows, rowVersions) },
    ];
  }

  return [
    { output, kind: 'insert-new', parameters: rowParameters(output, rows, rowVersions, rowsWhere(write, true)) },
    { output, kind: 'upsert', parameters: rowParameters(output, rows, rowVersions, rowsWhere(write, false)) },
  ];
}

/**
 * PostgreSQL's {@link OutputTableWrites}: one statement for the rows of every table and one for their removals
 * (output-sql.ts `partsStatement`), in the order asked; the planner of the removals is set by the rows statement
 * when it comes first, else by a statement of its own.
 */
export const postgresOutputWrites: OutputTableWrites = {
  async write(session, writes, order) {
    const rows = writes.flatMap(rowParts);
    const removals: StatementPart[] = writes
      .filter((w) => w.removals.ownerKeys.length > 0)
      .map((w) => ({ output: w.output, kind: 'remove', parameters: removalParameters(w.removals) }));
    const run = (parts: StatementPart[], setsRemovalPlanner = false) =>
      session.rows(
        partsStatement(parts, setsRemovalPlanner),
        parts.flatMap((p) => p.parameters),
      );
    const rowsFirst = order === 'rows-first' && rows.length > 0;
    if (removals.length > 0 && !rowsFirst) {
      await session.rows(BEFORE_REMOVALS, []);
    }
    if (rowsFirst) {
      await run(rows, removals.length > 0);
    }
    if (removals.length > 0) {
      await run(removals);
    }
    if (!rowsFirst && rows.length > 0) {
      await run(rows);
    }
  },
};
