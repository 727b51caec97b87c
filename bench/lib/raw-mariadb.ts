// Phase 1, MariaDB: the version-guarded multi-row `INSERT … ON DUPLICATE KEY UPDATE` of the sink's MariaDB dialect
// (`mariadbUpsertDocuments` from @app/persistence, the statement its state writes send), from a plain mysql2 client in
// batches of 500, into a table made `LIKE` the sink's own state table. Only the upsert: the sink's batch also locks its
// documents' slots and reads their versions first (libs/persistence/src/dialect/mariadb/state-table-writes.ts), which
// is part of what the drain is held to this ceiling for. Each batch commits on its own, as each of the sink's does.
import { createPool, type PoolConnection } from 'mysql2/promise';
import { mariadbUpsertDocuments } from '@app/persistence';
import type { PhaseInputs } from './phase';
import { bestUpdatePass, rawPasses, type RawRun, type WriteBatch } from './raw-passes';

const TABLE = 'bench_raw_docs';

/** A datetime(6) literal in UTC, as the dialect writes timestamps. */
const utcDatetime = (ms: number): string => new Date(ms).toISOString().slice(0, 23).replace('T', ' ');

const upsertBatch: WriteBatch<PoolConnection> = async (connection, { ids, docs, version }) => {
  const ingestedAt = utcDatetime(Date.now());
  const rows = ids.map((id, i) => [id, version, docs[i], ingestedAt, ingestedAt]);
  await connection.query(mariadbUpsertDocuments(TABLE).text, [rows]);

  // With mysql2's FOUND_ROWS, affectedRows does not tell a written row from a stale one; every row of a pass is new
  // or newer, and the pass's end checks that the table holds each at the pass's version.
  return ids.length;
};

export interface RawMariadbOptions extends PhaseInputs {
  databaseUrl: string;
  /** the sink's state table, whose columns, collation and JSON check the bench's table copies */
  likeTable: string;
  rows: number;
  batchSize: number;
  connections: number[];
}

export type RawMariadbRun = RawRun<'upsert'>;

export interface RawMariadbResult {
  runs: RawMariadbRun[];
  ceiling: { upsertRowsPerSec: number };
}

export async function rawMariadb(o: RawMariadbOptions): Promise<RawMariadbResult> {
  const maxConnections = Math.max(...o.connections);
  const pool = createPool({ uri: o.databaseUrl, connectionLimit: maxConnections, charset: 'utf8mb4' });
  const connections = await Promise.all(Array.from({ length: maxConnections }, () => pool.getConnection()));
  const [first] = connections;
  try {
    if (!first) throw new Error('raw MariaDB: no connection asked for');
    await first.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await first.query(`CREATE TABLE ${TABLE} LIKE \`${o.likeTable}\``);
    let version = 0;
    const checked: WriteBatch<PoolConnection> = async (connection, batch) => {
      version = batch.version;

      return upsertBatch(connection, batch);
    };
    const checkPass = async (): Promise<void> => {
      if (version === 0) return;
      const [rows] = await first.query(`SELECT count(*) AS n FROM ${TABLE} WHERE version = ?`, [version]);
      const held = Number((rows as { n: number | string }[])[0]?.n);
      const expected = Math.min(o.rows, o.ids.length);
      if (held !== expected) throw new Error(`raw MariaDB: ${held} rows at version ${version}, ${expected} written`);
    };
    const runs = await rawPasses({
      ...o,
      clients: connections,
      modes: [['upsert', checked]],
      truncate: async () => {
        await checkPass();
        await first.query(`TRUNCATE ${TABLE}`);
      },
      label: 'mariadb',
    });
    await checkPass();
    await first.query(`DROP TABLE IF EXISTS ${TABLE}`);

    return { runs, ceiling: { upsertRowsPerSec: bestUpdatePass(runs, 'upsert') } };
  } finally {
    for (const c of connections) c.release();
    await pool.end();
  }
}
