import type { OutputWrite } from '../../outputs/output-writes';
import { ownerColumn } from '../../outputs/owner-keys';
import type { OutputTableWrites, SqlSession } from '../sql-dialect';
import { statementBytesOfSession } from './mariadb-session';
import { removalLength, removalsStatement, rowsStatement, rowValuesLength } from './output-sql';
import { ownerValue, valueWriters } from './output-values';
import { chunkRows, LITERAL_BYTES, quotedBytes } from './statement-chunks';

const valueBytes = (value: unknown): number => (typeof value === 'string' ? quotedBytes(value) : LITERAL_BYTES);

/** Upserts (or inserts once) a write's rows: one statement for as many rows as a statement takes. */
async function writeRows(session: SqlSession, write: OutputWrite, maxBytes: number): Promise<void> {
  if (write.rows.length === 0) {
    return;
  }
  const { output } = write;
  const writers = valueWriters(output.columns.map((c) => c.type));
  const rows = write.rows.map((row, r) => [...writers.map((w, i) => w(row[i] ?? null)), write.rowVersions[r]]);
  const rowText = rowValuesLength(output);
  const bytesOf = (row: unknown[]): number => row.reduce<number>((sum, value) => sum + valueBytes(value), rowText);
  for (const chunk of chunkRows(rows, { valuesPerRow: output.columns.length + 1, maxBytes, bytesOf })) {
    await session.changes(rowsStatement(output, write.mode, chunk.length), chunk.flat());
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
