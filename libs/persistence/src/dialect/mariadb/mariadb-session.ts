import type { PoolConnection, ResultSetHeader } from 'mysql2';
import type { QueryRunner } from 'typeorm';
import type { SqlSession, Statement } from '../sql-dialect';

/** max_allowed_packet assumed for a session that is not a {@link MariadbSession}: MySQL 5.7's default. */
const FALLBACK_MAX_PACKET = 4 * 1024 * 1024;
/** A chunk is never made larger than this, whatever the server takes: the driver builds each statement in memory. */
const MAX_CHUNK_BYTES = 16 * 1024 * 1024;
/** Room for the protocol's header and the parts of a statement that no chunk estimate counts. */
const PACKET_MARGIN_BYTES = 16 * 1024;

/** How large a statement may be on a session. */
export interface StatementLimits {
  /** the server's max_allowed_packet: no statement may be larger */
  maxPacket: number;
  /** the size statements are chunked to: max_allowed_packet less a margin, at most 16 MiB */
  chunkBytes: number;
}

const limitsOf = (maxPacket: number): StatementLimits => ({
  maxPacket,
  chunkBytes: Math.min(maxPacket - PACKET_MARGIN_BYTES, MAX_CHUNK_BYTES),
});

/** Each pooled connection's limits, read once from its server. */
const statementLimitsOf = new WeakMap<PoolConnection, Promise<StatementLimits>>();

/** The pooled connections whose transactions read committed rows already (see {@link MariadbSession.of}). */
const readCommitted = new WeakSet<PoolConnection>();

/** SERVER_STATUS_IN_TRANS, of the status flags that end each reply of the server. */
const SERVER_STATUS_IN_TRANS = 0x0001;

const isResultSetHeader = (result: unknown): result is ResultSetHeader =>
  typeof result === 'object' && result !== null && 'affectedRows' in result;

/**
 * A {@link SqlSession} on the mysql2 connection a TypeORM query runner holds (its callback API, promised).
 * Statement.name is ignored; Statement.text takes `?` placeholders, which mysql2 fills in on the client (an array
 * becomes `a, b`, an array of arrays `(a, b), (c, d)`), so the server sees one plain statement.
 *
 * `changes` is mysql2's affectedRows. With the FOUND_ROWS flag mysql2 (and so TypeORM) sets by default, an UPDATE
 * or an `ON DUPLICATE KEY UPDATE` counts the rows it matched, also those it left as they were: exact for an INSERT
 * or a DELETE, not a way to tell an update from a stale row.
 */
export class MariadbSession implements SqlSession {
  constructor(readonly connection: PoolConnection) {}

  /**
   * The session of a query runner's connection, whose transactions read committed rows: under REPEATABLE READ (the
   * server's default) a removal of a document's output rows takes gap locks, and two sinks removing and inserting
   * rows of neighbouring documents could deadlock. Set once per pooled connection.
   */
  static async of(runner: QueryRunner): Promise<MariadbSession> {
    const session = new MariadbSession((await runner.connect()) as PoolConnection);
    if (!readCommitted.has(session.connection)) {
      await session.run('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', []);
      readCommitted.add(session.connection);
    }

    return session;
  }

  async rows<T>(statement: Statement, values: readonly unknown[]): Promise<T[]> {
    const result = await this.run(statement.text, values);

    return Array.isArray(result) ? (result as T[]) : [];
  }

  async changes(statement: Statement, values: readonly unknown[]): Promise<number> {
    const result = await this.run(statement.text, values);

    return isResultSetHeader(result) ? result.affectedRows : 0;
  }

  /**
   * Whether the connection is in a transaction, by the status flags of the server's last reply, which mysql2 keeps
   * on the connection (outside its typings); undefined where they cannot be read.
   */
  get inTransaction(): boolean | undefined {
    const status = (this.connection as { serverStatus?: unknown }).serverStatus;

    return typeof status === 'number' ? (status & SERVER_STATUS_IN_TRANS) !== 0 : undefined;
  }

  /** The {@link StatementLimits} of this connection's server, read once per pooled connection. */
  statementLimits(): Promise<StatementLimits> {
    let limits = statementLimitsOf.get(this.connection);
    if (limits === undefined) {
      limits = this.run('SELECT @@max_allowed_packet AS bytes', []).then((rows) => {
        const [row] = rows as { bytes: number | string }[];

        return limitsOf(Number(row?.bytes ?? FALLBACK_MAX_PACKET));
      });
      void limits.catch(() => statementLimitsOf.delete(this.connection));
      statementLimitsOf.set(this.connection, limits);
    }

    return limits;
  }

  private run(text: string, values: readonly unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.connection.query(text, [...values], (error, result) => (error ? reject(error) : resolve(result)));
    });
  }
}

/** The {@link StatementLimits} of any session: a {@link MariadbSession}'s server's, else for a 4 MiB packet. */
export async function statementLimitsOfSession(session: SqlSession): Promise<StatementLimits> {
  return session instanceof MariadbSession ? session.statementLimits() : limitsOf(FALLBACK_MAX_PACKET);
}

/** The size statements on any session are chunked to: {@link StatementLimits.chunkBytes}. */
export async function statementBytesOfSession(session: SqlSession): Promise<number> {
  return (await statementLimitsOfSession(session)).chunkBytes;
}
