// The row-bound raw ceilings on PostgreSQL (rows-raw.ts): into copies (LIKE … INCLUDING ALL) of the sink's `clicks`
// and `sessions` tables, from one `pg` client. Events: multi-row `INSERT … VALUES (500 rows) ON CONFLICT (id) DO
// NOTHING`, its values in the text as psql sends them, and prepared once with 1,500 parameters; documents: the
// version-guarded upsert as a VALUES list in the text, and prepared as the sink's write function did before v3
// (raw-pg.ts's, unnest over array parameters). Staging: COPY
// into a temporary table (ON COMMIT DELETE ROWS) then one INSERT … SELECT … ON CONFLICT, in one transaction. Direct:
// COPY into the table. Typed: direct only, into the typed collection's own tables (empty before the drains), its
// state rows and each output's rows as the sink's COPY of new rows writes them (output-copy.ts), one transaction a
// batch; the projection runs before the pass.
import pg, { escapeLiteral } from 'pg';
import type { Collection } from '@app/collections';
import {
  postgresCopyIn,
  postgresCopyRowsSql,
  postgresCopyRowsText,
  postgresOutputTable,
  postgresTable,
} from '@app/persistence';
import { copyRows, upsertFromStagingSql, upsertSql } from './raw-pg';
import { COLLECTION } from './redis-writes';
import { countAllSql, EVENTS_COLLECTION, typedRows } from './rows-data';
import { firstWriteRows, type OneRowKind, type RawRowsSession, type RawRowsTarget, type RowsBatch } from './rows-raw';

const TABLES: Record<OneRowKind, { table: string; like: string; stage: string; stageColumns: string }> = {
  events: {
    table: 'bench_rows_events',
    like: EVENTS_COLLECTION,
    stage: 'bench_rows_stage_events',
    stageColumns: 'id text NOT NULL, doc text NOT NULL, ts timestamptz NOT NULL',
  },
  documents: {
    table: 'bench_rows_docs',
    like: COLLECTION,
    stage: 'bench_rows_stage_docs',
    stageColumns: 'id text NOT NULL, version bigint NOT NULL, doc text NOT NULL, ts timestamptz NOT NULL',
  },
};
/** The collection name the documents' tombstone guard looks up (it holds none). */
const RAW_COLLECTION = 'bench_rows';

/** `INSERT … VALUES ($1, $2::jsonb, $3), … ON CONFLICT (id) DO NOTHING` for `n` rows. */
function eventsInsert(table: string, n: number): string {
  const values = Array.from({ length: n }, (_, i) => `($${3 * i + 1}, $${3 * i + 2}::jsonb, $${3 * i + 3})`);

  return `INSERT INTO ${table} (id, doc, ingested_at) VALUES ${values.join(', ')} ON CONFLICT (id) DO NOTHING`;
}

/** The same with the values in the text, as psql sends a statement typed or read from a file. */
function eventsInsertText(table: string, { ids, docs }: RowsBatch, ts: string): string {
  const values = ids.map((id, i) => `(${escapeLiteral(id)}, ${escapeLiteral(docs[i] ?? '')}::jsonb, '${ts}')`);

  return `INSERT INTO ${table} (id, doc, ingested_at) VALUES ${values.join(', ')} ON CONFLICT (id) DO NOTHING`;
}

/** The version-guarded upsert of documents at version 1 as a VALUES list in the text (as {@link eventsInsertText}). */
function documentsUpsertText(table: string, { ids, docs }: RowsBatch, ts: string): string {
  const values = ids.map((id, i) => `(${escapeLiteral(id)}, 1, ${escapeLiteral(docs[i] ?? '')}::jsonb)`);

  return `INSERT INTO ${table} AS t (id, version, doc, created_at, updated_at)
  SELECT v.id, v.version, v.doc, '${ts}', '${ts}' FROM (VALUES ${values.join(', ')}) AS v(id, version, doc)
   WHERE coalesce((SELECT tb.version FROM spillway_tombstones tb
                    WHERE tb.collection = '${RAW_COLLECTION}' AND tb.id = v.id), 0) < v.version
  ON CONFLICT (id) DO UPDATE SET version = excluded.version, doc = excluded.doc, updated_at = excluded.updated_at
   WHERE t.version < excluded.version`;
}

async function copyInto(client: pg.Client, target: string, text: string): Promise<void> {
  await postgresCopyIn(client, `COPY ${target} FROM STDIN`, text);
}

async function inTransaction(client: pg.Client, work: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await work();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function eventsTarget(client: pg.Client, table: string, stage: string): RawRowsTarget['writers'] {
  const batchText = ({ ids, docs }: RowsBatch, ts: string) => copyRows(ids.map((id, i) => [id, docs[i] ?? '', ts]));

  return {
    'multi-row': async (batch) => {
      await client.query(eventsInsertText(table, batch, new Date().toISOString()));
    },
    'multi-row-prepared': async ({ ids, docs }) => {
      const ts = new Date().toISOString();
      await client.query({
        name: `bench-rows-events-${ids.length}`,
        text: eventsInsert(table, ids.length),
        values: ids.flatMap((id, i) => [id, docs[i], ts]),
      });
    },
    staging: (batch) =>
      inTransaction(client, async () => {
        await copyInto(client, `${stage} (id, doc, ts)`, batchText(batch, new Date().toISOString()));
        await client.query(
          `INSERT INTO ${table} (id, doc, ingested_at) SELECT id, doc::jsonb, ts FROM ${stage} ON CONFLICT (id) DO NOTHING`,
        );
      }),
    direct: (batch) => copyInto(client, `${table} (id, doc, ingested_at)`, batchText(batch, new Date().toISOString())),
  };
}

function documentsTarget(client: pg.Client, table: string, stage: string): RawRowsTarget['writers'] {
  const upsert = upsertSql(table);
  const fromStaging = upsertFromStagingSql(table, RAW_COLLECTION, stage);

  return {
    'multi-row': async (batch) => {
      await client.query(documentsUpsertText(table, batch, new Date().toISOString()));
    },
    'multi-row-prepared': async ({ ids, docs }) => {
      const ms = Date.now();
      await client.query({
        name: 'bench-rows-upsert',
        text: upsert,
        values: [RAW_COLLECTION, ids, ids.map(() => 1), JSON.stringify(docs), ids.map(() => ms)],
      });
    },
    staging: (batch) =>
      inTransaction(client, async () => {
        const ts = new Date().toISOString();
        await copyInto(client, `${stage} (id, version, doc, ts)`, copyRows(firstWriteRows(batch, [ts])));
        await client.query(fromStaging);
      }),
    direct: (batch) => {
      const ts = new Date().toISOString();

      return copyInto(
        client,
        `${table} (id, version, doc, created_at, updated_at)`,
        copyRows(firstWriteRows(batch, [ts, ts])),
      );
    },
  };
}

/** A batch of the typed collection as COPY statements (its state rows, then each output's rows) and their rows. */
interface TypedBatch {
  copies: { sql: string; text: string }[];
  rows: number;
}

function typedBatch(collection: Collection, batch: RowsBatch, ts: string): TypedBatch {
  const { outputs, rows } = typedRows(collection, batch);
  const state = {
    sql: `COPY ${postgresTable(collection)} (id, version, doc, created_at, updated_at) FROM STDIN`,
    text: copyRows(firstWriteRows(batch, [ts, ts])),
  };
  const outputCopies = collection.outputs.map((output, o) => {
    const outputRows = outputs[o] ?? [];

    return {
      sql: postgresCopyRowsSql(output),
      text: postgresCopyRowsText(
        outputRows,
        outputRows.map(() => 1),
      ),
    };
  });

  return { copies: [state, ...outputCopies], rows };
}

/** The typed collection's tables, written by COPY only: every batch projected before the pass. */
function typedTarget(client: pg.Client, collection: Collection, batches: readonly RowsBatch[]): RawRowsTarget {
  const ts = new Date().toISOString();
  const prepared = new Map(batches.map((batch) => [batch, typedBatch(collection, batch, ts)]));
  const tables = [postgresTable(collection), ...collection.outputs.map(postgresOutputTable)];

  return {
    truncate: async () => void (await client.query(`TRUNCATE ${tables.join(', ')}`)),
    count: async () => {
      const { rows } = await client.query<{ n: string }>(countAllSql(tables));

      return Number(rows[0]?.n ?? 0);
    },
    rowsPerPass: [...prepared.values()].reduce((n, batch) => n + batch.rows, 0),
    writers: {
      direct: (batch) =>
        inTransaction(client, async () => {
          for (const { sql, text } of prepared.get(batch)?.copies ?? []) await postgresCopyIn(client, sql, text);
        }),
    },
  };
}

/**
 * One connection, the bench tables made on demand and dropped at close; the typed collection's own tables, which
 * the stack made, emptied after each pass.
 */
export async function rowsRawPostgres(url: string, typed: Collection): Promise<RawRowsSession> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const made: string[] = [];

  return {
    async target(kind, batches) {
      if (kind === 'typed') return typedTarget(client, typed, batches);
      const { table, like, stage, stageColumns } = TABLES[kind];
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      await client.query(`CREATE TABLE ${table} (LIKE ${like} INCLUDING ALL)`);
      await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${stage} (${stageColumns}) ON COMMIT DELETE ROWS`);
      made.push(table);
      const writers = kind === 'events' ? eventsTarget(client, table, stage) : documentsTarget(client, table, stage);

      return {
        truncate: async () => void (await client.query(`TRUNCATE ${table}`)),
        count: async () => {
          const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);

          return Number(rows[0]?.n ?? 0);
        },
        writers,
      };
    },
    async close() {
      for (const table of made) await client.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await client.end();
    },
  };
}
