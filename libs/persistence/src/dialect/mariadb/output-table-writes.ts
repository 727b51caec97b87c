import type { OutputWrite } from '../../outputs/output-writes';
import { ownerColumn } from '../../outputs/owner-keys';
import type { OutputTableWrites, SqlSession } from '../sql-dialect';
import { statementBytesOfSession } from './mariadb-session';
import { removalLength, removalsStatement, rowsLiteralStatement } from './output-sql';
import { ownerValue, valueWriters } from './output-values';
import { literalBytesAtMost, rowLiteral, RowsLiteral, valueLiteral } from './row-literals';
import { chunkRows, LITERAL_BYTES, quotedBytes } from './statement-chunks';

/**
 * Upserts (or inserts once) a write's rows: one statement for as many rows as a statement takes. The rows go as
 * literals the dialect writes (row-literals.ts), not through mysql2's format: a typed table's rows are as many as
 * the documents' and more, and the formatting was most of the client's work.
 */
async function writeRows(session: SqlSession, write: OutputWrite, maxBytes: number): Promise<void> {
  if (write.rows.length === 0) {
    return;
  }
  const { output } = write;
  const writers = valueWriters(output.columns.map((c) => c.type));
  const rows = write.rows.map((row, r) =>
    rowLiteral([...writers.map((w, i) => valueLiteral(w(row[i] ?? null))), valueLiteral(write.rowVersions[r])]),
  );
  const valuesPerRow = output.columns.length + 1;
  const bytesOf = (row: string): number => literalBytesAtMost(row.length + 2);
  const statement = rowsLiteralStatement(output, write.mode);
  for (const chunk of chunkRows(rows, { valuesPerRow, maxBytes, bytesOf })) {
    await session.changes(statement, [new RowsLiteral(chunk, valuesPerRow)]);
  }
}

/** Removes the rows of the write's documents older than their versions, by the owner column. */
async function writeRemovals(session: SqlSession, write: OutputWrite, maxBytes: number): Promise<void> {
  const { output } = write;
  const { ownerKeys, versions } = write.removals;
  if (ownerKeys.length === 0) {
    return;
  }
  const ownerType = ownerColumn(output).type;
  const removals: [string, number][] = [];
  ownerKeys.forEach((key, i) => {
    const owner = ownerValue(ownerType, key);
    if (owner !== undefined) {
      removals.push([owner, versions[i] ?? 0]);
    }
  });
  const removalText = removalLength(output);
  const bytesOf = ([owner]: [string, number]): number => quotedBytes(owner) + LITERAL_BYTES + removalText;
  for (const chunk of chunkRows(removals, { valuesPerRow: 2, maxBytes, bytesOf })) {
    await session.changes(removalsStatement(output, chunk.length), chunk.flat());
  }
}

/**
 * MariaDB's and MySQL's {@link OutputTableWrites}: for each output table, a statement for its rows and one for its
 * removals, each split only where a statement would bind more than 65,535 values or outgrow the server's
 * max_allowed_packet (statement-chunks.ts), never by dropping rows.
 */
export const mariadbOutputWrites: OutputTableWrites = {
  async write(session, writes, order) {
    if (writes.length === 0) {
      return;
    }
    const maxBytes = await statementBytesOfSession(session);
    for (const write of writes) {
      if (order === 'rows-first') {
        await writeRows(session, write, maxBytes);
        await writeRemovals(session, write, maxBytes);
      } else {
        await writeRemovals(session, write, maxBytes);
        await writeRows(session, write, maxBytes);
      }
    }
  },
};
