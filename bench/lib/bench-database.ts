// What the bench asks of the stack's database besides the apps' own work, in each kind's SQL: its version and
// settings, its tables' presence, emptying them between drains, and the rows each drain wrote to each table.
import { setTimeout as sleep } from 'node:timers/promises';
import type { DatabaseKind, DatabaseReader } from '../../tools/local-stack';

/** The rows a drain wrote to a table, from the server's own statistics since the last reset. */
export interface TableWrites {
  /** null where the server does not tell inserts, updates and deletes apart (MariaDB) */
  inserted: number | null;
  updated: number | null;
  deleted: number | null;
  /** rows inserted, updated or deleted */
  written: number;
  /** the statistics as the server names them, for the JSON */
  raw: Record<string, number>;
}

interface KindSql {
  label: string;
  version(reader: DatabaseReader): Promise<string>;
  /** How the server runs, as the results' settings say it. */
  settings(reader: DatabaseReader): Promise<string>;
  /** Once, before the first drain: whatever the statistics need. */
  prepareStats(reader: DatabaseReader): Promise<void>;
  truncate(reader: DatabaseReader, tables: string[]): Promise<void>;
  resetStats(reader: DatabaseReader): Promise<void>;
  writes(reader: DatabaseReader, tables: string[]): Promise<Map<string, TableWrites>>;
}

const POSTGRES: KindSql = {
  label: 'PostgreSQL',
  async version(reader) {
    const [row] = await reader.query<{ server_version: string }>('SHOW server_version');

    return String(row?.server_version);
  },
  async settings(reader) {
    const [row] = await reader.query<{ fsync: string; synchronous_commit: string }>(
      `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS synchronous_commit`,
    );

    return `fsync ${row?.fsync}, synchronous_commit ${row?.synchronous_commit} (tools/local-stack defaults)`;
  },
  prepareStats: () => Promise.resolve(),
  async truncate(reader, tables) {
    await reader.query(`TRUNCATE ${tables.map((t) => reader.quote(t)).join(', ')}`);
  },
  async resetStats(reader) {
    await reader.query('SELECT pg_stat_reset()');
  },
  async writes(reader, tables) {
    await sleep(1200); // table statistics are flushed about once a second
    const rows = await reader.query<Record<string, string>>(
      `SELECT relname, n_tup_ins::bigint AS ins, n_tup_upd::bigint AS upd, n_tup_del::bigint AS del,
              n_live_tup::bigint AS live
         FROM pg_stat_user_tables WHERE relname = ANY($1) AND schemaname = 'public'`,
      [tables],
    );

    return new Map(
      rows.map((row) => {
        const [inserted, updated, deleted] = [row.ins, row.upd, row.del].map(Number) as [number, number, number];
        const raw = Object.fromEntries(
          Object.entries(row).flatMap(([k, v]) => (k === 'relname' ? [] : [[k, Number(v)]])),
        );

        return [String(row.relname), { inserted, updated, deleted, written: inserted + updated + deleted, raw }];
      }),
    );
  },
};

/**
 * MariaDB counts rows per table only with `userstat` on (information_schema.TABLE_STATISTICS): rows read, and rows
 * changed, inserts, updates and deletes together (an upsert that leaves a stale row as it was changes none). The bench
 * turns it on; it costs the server a little on every statement.
 */
const MARIADB: KindSql = {
  label: 'MariaDB',
  async version(reader) {
    const [row] = await reader.query<{ version: string }>('SELECT VERSION() AS version');

    return String(row?.version);
  },
  async settings(reader) {
    const [row] = await reader.query<Record<string, string | number | null>>(
      `SELECT @@innodb_flush_log_at_trx_commit AS flush, @@innodb_doublewrite AS doublewrite, @@log_bin AS log_bin,
              @@userstat AS userstat, @@innodb_buffer_pool_size AS pool`,
    );

    return (
      `innodb_flush_log_at_trx_commit ${row?.flush} (the redo log flushed at each commit), innodb_doublewrite ` +
      `${row?.doublewrite}, log_bin ${row?.log_bin}, buffer pool ${Math.round(Number(row?.pool) / 2 ** 20)} MiB ` +
      `(tools/local-stack defaults); userstat ${row?.userstat} (set by the bench, for TABLE_STATISTICS)`
    );
  },
  async prepareStats(reader) {
    await reader.query('SET GLOBAL userstat = 1');
  },
  async truncate(reader, tables) {
    for (const table of tables) await reader.query(`TRUNCATE TABLE ${reader.quote(table)}`);
  },
  async resetStats(reader) {
    await reader.query('FLUSH TABLE_STATISTICS');
  },
  async writes(reader, tables) {
    const rows = await reader.query<{ name: string; rows_read: string | number; rows_changed: string | number }>(
      `SELECT TABLE_NAME AS name, ROWS_READ AS rows_read, ROWS_CHANGED AS rows_changed
         FROM information_schema.TABLE_STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)`,
      [tables],
    );

    return new Map(
      rows.map((row) => {
        const raw = { rows_read: Number(row.rows_read), rows_changed: Number(row.rows_changed) };

        return [row.name, { inserted: null, updated: null, deleted: null, written: raw.rows_changed, raw }];
      }),
    );
  },
};

const KINDS: Record<DatabaseKind, KindSql> = { postgres: POSTGRES, mariadb: MARIADB };

/** The stack's database as the bench uses it. */
export class BenchDatabase {
  private readonly sql: KindSql;

  constructor(readonly reader: DatabaseReader) {
    this.sql = KINDS[reader.kind];
  }

  get kind(): DatabaseKind {
    return this.reader.kind;
  }

  /** `PostgreSQL`, `MariaDB` */
  get label(): string {
    return this.sql.label;
  }

  version(): Promise<string> {
    return this.sql.version(this.reader);
  }

  settings(): Promise<string> {
    return this.sql.settings(this.reader);
  }

  prepareStats(): Promise<void> {
    return this.sql.prepareStats(this.reader);
  }

  /** The sink provisions its tables in the background after it answers; waits for them. */
  async waitForTables(tables: string[], timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const columns = await Promise.all(tables.map((table) => this.reader.columns(table)));
      if (columns.every((c) => c.length > 0)) return;
      await sleep(200);
    }
    throw new Error(`the sink did not create its tables within ${timeoutMs / 1000} s: ${tables.join(', ')}`);
  }

  /** Empties the tables (and the tombstones, which the drains write too). */
  truncate(tables: string[]): Promise<void> {
    return this.sql.truncate(this.reader, [...tables, 'spillway_tombstones']);
  }

  resetStats(): Promise<void> {
    return this.sql.resetStats(this.reader);
  }

  /** Each table's rows written since the last resetStats(); a table the server has no statistics of wrote none. */
  async writes(tables: string[]): Promise<Map<string, TableWrites>> {
    const found = await this.sql.writes(this.reader, tables);
    const none = this.kind === 'postgres' ? 0 : null;

    return new Map(
      tables.map((table) => [
        table,
        found.get(table) ?? { inserted: none, updated: none, deleted: none, written: 0, raw: {} },
      ]),
    );
  }

  async countRows(table: string): Promise<number> {
    const [row] = await this.reader.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM ${this.reader.quote(table)}`,
    );

    return Number(row?.n ?? 0);
  }
}
