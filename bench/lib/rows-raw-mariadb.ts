// The row-bound raw ceilings on MariaDB (rows-raw.ts): into copies (CREATE TABLE … LIKE) of the sink's `clicks` and
// `sessions` tables, from one mysql2 connection. Events: the dialect's multi-row `INSERT … VALUES … ON DUPLICATE KEY
// UPDATE id = id`; documents: the dialect's version-guarded upsert (`mariadbUpsertDocuments`). Staging: `LOAD DATA
// LOCAL INFILE` (tools/local-stack's server runs with local-infile = 1; mysql2 streams the file from
// `infileStreamFactory`) into a temporary table, then one INSERT … SELECT with the same ON DUPLICATE KEY clause, and
// the staging rows deleted, in one transaction. Direct: LOAD DATA LOCAL INFILE into the table. Typed: direct only, into
// the typed collection's own tables (empty before the drains), its state rows and each output's rows with the values
// the dialect writes for each column type (output-values.ts), one transaction a batch; the projection runs before the
// pass.
import { Readable } from 'node:stream';
import { createConnection, type Connection, type ResultSetHeader } from 'mysql2/promise';
import type { Collection } from '@app/collections';
import {
  mariadbOutputTable,
  mariadbOutputValueWriters,
  mariadbQuote,
  mariadbStateTable,
  mariadbUpsertDocuments,
} from '@app/persistence';
import { copyRows, copyText } from './raw-pg';
import { COLLECTION } from './redis-writes';
import { countAllSql, EVENTS_COLLECTION, typedRows } from './rows-data';
import { firstWriteRows, type OneRowKind, type RawRowsSession, type RawRowsTarget, type RowsBatch } from './rows-raw';

const TABLES: Record<OneRowKind, { table: string; like: string; stage: string; stageColumns: string }> = {
  events: {
    table: 'bench_rows_events',
    like: EVENTS_COLLECTION,
    stage: 'bench_rows_stage_events',
    stageColumns: 'id varchar(200) NOT NULL, doc longtext NOT NULL, ts datetime(6) NOT NULL',
  },
  documents: {
    table: 'bench_rows_docs',
    like: COLLECTION,
    stage: 'bench_rows_stage_docs',
    // Names of their own: the upsert's unqualified `version`, `doc` and `updated_at` would be ambiguous in INSERT … SELECT.
    stageColumns:
      's_id varchar(200) NOT NULL, s_version bigint NOT NULL, s_doc longtext NOT NULL, s_ts datetime(6) NOT NULL',
  },
};

/** A datetime(6) literal in UTC, as the dialect writes timestamps. */
const utcNow = (): string => new Date().toISOString().slice(0, 23).replace('T', ' ');

/**
 * LOAD DATA's default format (fields by tabs, lines by newlines, backslash escapes) is COPY's text format: the same
 * escaping.
 */
const loadText = copyRows;

/** A value in LOAD DATA's text: NULL as `\N`, a text escaped, any other value (a number) as its JSON. */
const loadField = (value: unknown): string =>
  value === null || value === undefined ? '\\N' : copyText(typeof value === 'string' ? value : JSON.stringify(value));

/**
 * LOAD DATA LOCAL turns what would refuse a row (a duplicate key, a value the column cannot hold) into a warning and
 * loads the rest, or a value cut to fit: a load with a warning fails the pass.
 */
async function loadInto(connection: Connection, table: string, columns: string, text: string): Promise<void> {
  const [result] = await connection.query<ResultSetHeader>({
    sql: `LOAD DATA LOCAL INFILE 'bench-rows' INTO TABLE ${table} CHARACTER SET utf8mb4 (${columns})`,
    infileStreamFactory: () => Readable.from([Buffer.from(text)]),
  });
  if (result.warningStatus !== 0) {
    const [warnings] = await connection.query('SHOW WARNINGS LIMIT 3');
    throw new Error(`LOAD DATA into ${table}: ${result.warningStatus} warnings, e.g. ${JSON.stringify(warnings)}`);
  }
}

async function inTransaction(connection: Connection, work: () => Promise<void>): Promise<void> {
  await connection.query('BEGIN');
  try {
    await work();
    await connection.query('COMMIT');
  } catch (error) {
    await connection.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function eventsWriters(connection: Connection, table: string, stage: string): RawRowsTarget['writers'] {
  const rows = ({ ids, docs }: RowsBatch, ts: string) => ids.map((id, i) => [id, docs[i] ?? '', ts]);

  return {
    'multi-row': async (batch) => {
      await connection.query(`INSERT INTO ${table} (id, doc, ingested_at) VALUES ? ON DUPLICATE KEY UPDATE id = id`, [
        rows(batch, utcNow()),
      ]);
    },
    staging: (batch) =>
      inTransaction(connection, async () => {
        await loadInto(connection, stage, 'id, doc, ts', loadText(rows(batch, utcNow())));
        await connection.query(
          `INSERT INTO ${table} (id, doc, ingested_at) SELECT id, doc, ts FROM ${stage} ON DUPLICATE KEY UPDATE id = ${table}.id`,
        );
        await connection.query(`DELETE FROM ${stage}`);
      }),
    direct: (batch) => loadInto(connection, table, 'id, doc, ingested_at', loadText(rows(batch, utcNow()))),
  };
}

function documentsWriters(connection: Connection, table: string, stage: string): RawRowsTarget['writers'] {
  const upsert = mariadbUpsertDocuments(table).text;
  // The dialect's statement with its VALUES list taken from the staging table: the same version guard.
  const fromStaging = upsert.replace('VALUES ?', `SELECT s_id, s_version, s_doc, s_ts, s_ts FROM ${stage}`);
  if (fromStaging === upsert) throw new Error('raw MariaDB: the dialect upsert has no "VALUES ?" to replace');

  return {
    'multi-row': async ({ ids, docs }) => {
      const ts = utcNow();
      await connection.query(upsert, [ids.map((id, i) => [id, 1, docs[i], ts, ts])]);
    },
    staging: (batch) =>
      inTransaction(connection, async () => {
        const ts = utcNow();
        await loadInto(connection, stage, 's_id, s_version, s_doc, s_ts', loadText(firstWriteRows(batch, [ts])));
        await connection.query(fromStaging);
        await connection.query(`DELETE FROM ${stage}`);
      }),
    direct: (batch) => {
      const ts = utcNow();

      return loadInto(
        connection,
        table,
        'id, version, doc, created_at, updated_at',
        loadText(firstWriteRows(batch, [ts, ts])),
      );
    },
  };
}

/** A batch of the typed collection as LOAD DATA statements (its state rows, then each output's rows) and their rows. */
interface TypedBatch {
  loads: { table: string; columns: string; text: string }[];
  rows: number;
}

function typedBatch(collection: Collection, batch: RowsBatch, ts: string): TypedBatch {
  const { outputs, rows } = typedRows(collection, batch);
  const state = {
    table: mariadbStateTable(collection),
    columns: 'id, version, doc, created_at, updated_at',
    text: loadText(firstWriteRows(batch, [ts, ts])),
  };
  const outputLoads = collection.outputs.map((output, o) => {
    const writers = mariadbOutputValueWriters(output.columns.map((c) => c.type));
    const text = (outputs[o] ?? [])
      .map((row) => `${[...writers.map((write, c) => loadField(write(row[c] ?? null))), '1'].join('\t')}\n`)
      .join('');

    return {
      table: mariadbOutputTable(output),
      columns: [...output.columns.map((c) => c.name), output.versionColumn].map(mariadbQuote).join(', '),
      text,
    };
  });

  return { loads: [state, ...outputLoads], rows };
}

/** The typed collection's tables, written by LOAD DATA only: every batch projected before the pass. */
function typedTarget(connection: Connection, collection: Collection, batches: readonly RowsBatch[]): RawRowsTarget {
  const ts = utcNow();
  const prepared = new Map(batches.map((batch) => [batch, typedBatch(collection, batch, ts)]));
  const tables = [mariadbStateTable(collection), ...collection.outputs.map(mariadbOutputTable)];

  return {
    truncate: async () => {
      for (const table of tables) await connection.query(`TRUNCATE TABLE ${table}`);
    },
    count: async () => {
      const [rows] = await connection.query(countAllSql(tables));

      return Number((rows as { n: number | string }[])[0]?.n ?? 0);
    },
    rowsPerPass: [...prepared.values()].reduce((n, batch) => n + batch.rows, 0),
    writers: {
      direct: (batch) =>
        inTransaction(connection, async () => {
          for (const { table, columns, text } of prepared.get(batch)?.loads ?? []) {
            await loadInto(connection, table, columns, text);
          }
        }),
    },
  };
}

/**
 * One connection (autocommit), the bench tables made on demand and dropped at close; the typed collection's own
 * tables, which the stack made, emptied after each pass.
 */
export async function rowsRawMariadb(url: string, typed: Collection): Promise<RawRowsSession> {
  const connection = await createConnection({ uri: url, charset: 'utf8mb4' });
  const made: string[] = [];

  return {
    async target(kind, batches) {
      if (kind === 'typed') return typedTarget(connection, typed, batches);
      const { table, like, stage, stageColumns } = TABLES[kind];
      await connection.query(`DROP TABLE IF EXISTS ${table}`);
      await connection.query(`CREATE TABLE ${table} LIKE \`${like}\``);
      await connection.query(`CREATE TEMPORARY TABLE IF NOT EXISTS ${stage} (${stageColumns})`);
      made.push(table);
      const writers =
        kind === 'events' ? eventsWriters(connection, table, stage) : documentsWriters(connection, table, stage);

      return {
        truncate: async () => void (await connection.query(`TRUNCATE TABLE ${table}`)),
        count: async () => {
          const [rows] = await connection.query(`SELECT count(*) AS n FROM ${table}`);

          return Number((rows as { n: number | string }[])[0]?.n ?? 0);
        },
        writers,
      };
    },
    async close() {
      for (const table of made) await connection.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await connection.end();
    },
  };
}
