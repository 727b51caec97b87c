// Phase 1, PostgreSQL: version-guarded multi-row upserts from a plain `pg` client in batches of 500, the same SQL shape
// as the upsert of the sink's write function (libs/persistence/src/migrations/*-create-write-documents-function.ts:
// unnest arrays, tombstone guard, `version <` guard), and a COPY-to-staging-then-upsert variant. Each runs an insert
// pass (empty table) and an update pass (every row one version newer).
import pg from 'pg';
import { postgresCopyField, postgresCopyIn } from '@app/persistence';
import type { PhaseInputs } from './phase';
import { bestUpdatePass, rawPasses, type RawRun, type WriteBatch } from './raw-passes';

const TABLE = 'bench_raw_docs';
const COLLECTION = 'bench_raw';

// Same columns as the sink's document tables (libs/persistence/src/collection-tables.ts).
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS ${TABLE} (
  id text PRIMARY KEY, version bigint NOT NULL, doc jsonb NOT NULL,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)`;

/**
 * The upsert of spillway_write_documents_v1, with the table and collection filled in, as a prepared statement of its
 * own (parameters: the collection, then ids, versions, documents as a JSON array of texts, ingested ms).
 */
export const upsertSql = (table: string): string => `
  WITH input AS (
    SELECT id, version, doc, to_timestamp(ingested_ms / 1000.0) AS ts
      FROM ROWS FROM (unnest($2::text[]), unnest($3::bigint[]), json_array_elements_text($4::json), unnest($5::bigint[]))
        AS i(id, version, doc, ingested_ms)
  ), alive AS (
    SELECT i.* FROM input i
     WHERE coalesce((SELECT tb.version FROM spillway_tombstones tb WHERE tb.collection = $1 AND tb.id = i.id), 0) < i.version
  )
  INSERT INTO ${table} AS t (id, version, doc, created_at, updated_at)
  SELECT id, version, doc::jsonb, ts, ts FROM alive
  ON CONFLICT (id) DO UPDATE
     SET version = excluded.version, doc = excluded.doc, updated_at = excluded.updated_at
   WHERE t.version < excluded.version
  RETURNING (xmax = 0) AS inserted`;
const UPSERT = upsertSql(TABLE);

const CREATE_STAGING = `CREATE TEMP TABLE IF NOT EXISTS bench_stage (
  id text NOT NULL, version bigint NOT NULL, doc text NOT NULL, ts timestamptz NOT NULL) ON COMMIT DELETE ROWS`;

/** The same upsert from a staging table of (id, version, doc text, ts), as one set-based statement. */
export const upsertFromStagingSql = (table: string, collection: string, stage: string): string => `
  INSERT INTO ${table} AS t (id, version, doc, created_at, updated_at)
  SELECT s.id, s.version, s.doc::jsonb, s.ts, s.ts FROM ${stage} s
   WHERE coalesce((SELECT tb.version FROM spillway_tombstones tb WHERE tb.collection = '${collection}' AND tb.id = s.id), 0) < s.version
  ON CONFLICT (id) DO UPDATE
     SET version = excluded.version, doc = excluded.doc, updated_at = excluded.updated_at
   WHERE t.version < excluded.version`;
const UPSERT_FROM_STAGING = upsertFromStagingSql(TABLE, COLLECTION, 'bench_stage');

/** COPY's text format: a value, with the escaping the sink's own COPY uses. */
export const copyText = postgresCopyField;

/** Rows (each its fields, as text) in COPY's text format: tab-separated, a line each. */
export const copyRows = (rows: string[][]): string =>
  rows.map((fields) => `${fields.map(copyText).join('\t')}\n`).join('');

type PgWrite = WriteBatch<pg.PoolClient>;

const upsertBatch: PgWrite = async (client, { ids, docs, version }) => {
  const ingestedMs = Date.now();
  const result = await client.query({
    name: 'bench-upsert',
    text: UPSERT,
    values: [COLLECTION, ids, ids.map(() => version), JSON.stringify(docs), ids.map(() => ingestedMs)],
  });

  return result.rowCount ?? 0;
};

const copyBatch: PgWrite = async (client, { ids, docs, version }) => {
  const ts = new Date().toISOString();
  let text = '';
  ids.forEach((id, i) => {
    text += `${copyText(id)}\t${version}\t${copyText(docs[i] ?? '')}\t${ts}\n`;
  });
  await client.query('BEGIN');
  try {
    await postgresCopyIn(client, 'COPY bench_stage (id, version, doc, ts) FROM STDIN', text);
    const result = await client.query(UPSERT_FROM_STAGING);
    await client.query('COMMIT');

    return result.rowCount ?? 0;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
};

export interface RawPostgresOptions extends PhaseInputs {
  databaseUrl: string;
  rows: number;
  batchSize: number;
  connections: number[];
}

export type RawPostgresRun = RawRun<'upsert' | 'copy'>;

export interface RawPostgresResult {
  runs: RawPostgresRun[];
  ceiling: { upsertRowsPerSec: number; copyRowsPerSec: number };
}

export async function rawPostgres(o: RawPostgresOptions): Promise<RawPostgresResult> {
  const maxConnections = Math.max(...o.connections);
  const pool = new pg.Pool({ connectionString: o.databaseUrl, max: maxConnections });
  const clients = await Promise.all(Array.from({ length: maxConnections }, () => pool.connect()));
  const [first] = clients;
  try {
    if (!first) throw new Error('raw PostgreSQL: no connection asked for');
    await first.query(CREATE_TABLE);
    for (const c of clients) await c.query(CREATE_STAGING);
    const runs = await rawPasses({
      ...o,
      clients,
      modes: [
        ['upsert', upsertBatch],
        ['copy', copyBatch],
      ],
      truncate: async () => void (await first.query(`TRUNCATE ${TABLE}`)),
      label: 'postgres',
    });
    await first.query(`DROP TABLE IF EXISTS ${TABLE}`);

    return {
      runs,
      ceiling: { upsertRowsPerSec: bestUpdatePass(runs, 'upsert'), copyRowsPerSec: bestUpdatePass(runs, 'copy') },
    };
  } finally {
    for (const c of clients) c.release();
    await pool.end();
  }
}
