import type { OutputWrite } from '../../outputs/output-writes';
import type { OutputTableWrites } from '../sql-dialect';
import { copyRowsSql, copyRowsText } from './output-copy';
import { BEFORE_REMOVALS, partsStatement, removalParameters, rowParameters, type StatementPart } from './output-sql';
import { PostgresSession } from './postgres-session';

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

/** A COPY of the new rows of one output table (output-copy.ts). */
interface RowsCopy {
  readonly sql: string;
  readonly text: string;
}

/**
 * A write's rows: inserted once (events), or upserted under the version guard. In 'upsert' mode the rows of
 * documents that have none in the table yet need no conflict check: with `copies` they go there, as a COPY;
 * without, in a part of their own inserted without ON CONFLICT ('insert-new').
 */
function rowParts(write: OutputWrite, copies: RowsCopy[] | undefined): StatementPart[] {
  const { output, rows, rowVersions } = write;
  if (rows.length === 0) {
    return [];
  }
  if (write.mode === 'insert-once') {
    return [{ output, kind: 'insert-once', parameters: rowParameters(output, rows, rowVersions) }];
  }
  let newRows = 0;
  for (const isNew of write.rowIsNew) {
    if (isNew) {
      newRows += 1;
    }
  }
  if (newRows === 0) {
    return [{ output, kind: 'upsert', parameters: rowParameters(output, rows, rowVersions) }];
  }
  const all = newRows === rows.length;
  if (copies !== undefined) {
    copies.push({
      sql: copyRowsSql(output),
      text: copyRowsText(rows, rowVersions, all ? undefined : rowsWhere(write, true)),
    });

    return all
      ? []
      : [{ output, kind: 'upsert', parameters: rowParameters(output, rows, rowVersions, rowsWhere(write, false)) }];
  }
  if (all) {
    return [{ output, kind: 'insert-new', parameters: rowParameters(output, rows, rowVersions) }];
  }

  return [
    { output, kind: 'insert-new', parameters: rowParameters(output, rows, rowVersions, rowsWhere(write, true)) },
    { output, kind: 'upsert', parameters: rowParameters(output, rows, rowVersions, rowsWhere(write, false)) },
  ];
}

/**
 * PostgreSQL's {@link OutputTableWrites}: a COPY for each table's new rows, one statement for the other rows of
 * every table and one for their removals (output-sql.ts `partsStatement`), in the order asked; the planner of the
 * removals is set by the rows statement when it comes first, else by a statement of its own. No row of a COPY is
 * one a statement writes or removes: new rows belong to documents that had none in the table.
 */
export const postgresOutputWrites: OutputTableWrites = {
  async write(session, writes, order) {
    const copies: RowsCopy[] | undefined = session instanceof PostgresSession ? [] : undefined;
    const rows = writes.flatMap((w) => rowParts(w, copies));
    const removals: StatementPart[] = writes
      .filter((w) => w.removals.ownerKeys.length > 0)
      .map((w) => ({ output: w.output, kind: 'remove', parameters: removalParameters(w.removals) }));
    const run = (parts: StatementPart[], setsRemovalPlanner = false) =>
      session.rows(
        partsStatement(parts, setsRemovalPlanner),
        parts.flatMap((p) => p.parameters),
      );
    const writeRows = async (setsRemovalPlanner: boolean) => {
      for (const copy of copies ?? []) {
        await (session as PostgresSession).copyIn(copy.sql, copy.text);
      }
      if (rows.length > 0) {
        await run(rows, setsRemovalPlanner);
      }
    };
    const rowsFirst = order === 'rows-first';
    if (rowsFirst) {
      await writeRows(removals.length > 0);
    }
    if (removals.length > 0) {
      if (!rowsFirst || rows.length === 0) {
        await session.rows(BEFORE_REMOVALS, []);
      }
      await run(removals);
    }
    if (!rowsFirst) {
      await writeRows(false);
    }
  },
};
