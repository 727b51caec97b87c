import type { OutputWrite } from '../../outputs/output-writes';
import type { OutputTableWrites, SqlSession } from '../sql-dialect';
import { BEFORE_REMOVALS, rowParameters, statementsOf } from './output-sql';

async function writeRows(session: SqlSession, write: OutputWrite): Promise<void> {
  if (write.rows.length > 0) {
    const statements = statementsOf(write.output);
    const statement = write.mode === 'upsert' ? statements.upsert : statements.insertOnce;
    await session.rows(statement, rowParameters(write.output, write.rows, write.rowVersions));
  }
}

async function writeRemovals(session: SqlSession, write: OutputWrite): Promise<void> {
  const { ownerKeys, versions } = write.removals;
  if (ownerKeys.length > 0) {
    await session.rows(statementsOf(write.output).remove, [ownerKeys, versions]);
  }
}

/** PostgreSQL's {@link OutputTableWrites}: a statement a table for its rows, and one for its removals. */
export const postgresOutputWrites: OutputTableWrites = {
  async write(session, writes, order) {
    if (writes.some((w) => w.removals.ownerKeys.length > 0)) {
      await session.rows(BEFORE_REMOVALS, []);
    }
    for (const write of writes) {
      if (order === 'rows-first') {
        await writeRows(session, write);
        await writeRemovals(session, write);
      } else {
        await writeRemovals(session, write);
        await writeRows(session, write);
      }
    }
  },
};
