import { Injectable } from '@nestjs/common';
import type { Collection } from '@app/collections';
import { DatabaseService, qualifiedTable } from '@app/persistence';
import { IngestException, IngestExceptionCode } from '../ingest.exception';

/** What PostgreSQL holds for a document id: the highest version it has seen, and whether a row is live. */
export interface PostgresVersion {
  version: number;
  live: boolean;
}

export interface PostgresDocument {
  version: number;
  json: string;
}

const UNDEFINED_TABLE = '42P01';
const CONNECT_WAIT_MS = 2000;

/**
 * Connection failures (no SQLSTATE, or classes 08 connection, 53 resources, 57 operator intervention such as
 * "the database system is starting up"): PostgreSQL is unavailable, not the request wrong.
 */
function isPostgresUnavailable(error: unknown): boolean {
  const code = sqlStateOf(error);

  return code === undefined || ['08', '53', '57'].includes(code.slice(0, 2));
}

/** The SQLSTATE of a failed query, if the error carries one. */
function sqlStateOf(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;

  return typeof code === 'string' && code.length === 5 ? code : undefined;
}

/** Reads PostgreSQL for what Redis no longer holds: documents for GET, version floors for writes. */
@Injectable()
export class PostgresStateReader {
  constructor(private readonly database: DatabaseService) {}

  async documents(collection: Collection, ids: string[]): Promise<Map<string, PostgresDocument>> {
    const version = collection.kind === 'document' ? 'version' : '1';
    const rows = await this.query<{ id: string; version: string; json: string }>(
      `SELECT id, ${version} AS version, doc::text AS json FROM ${qualifiedTable(collection)} WHERE id = ANY($1::text[])`,
      [ids],
    );

    return new Map(rows.map((r) => [r.id, { version: Number(r.version), json: r.json }]));
  }

  async versions(collection: Collection, ids: string[]): Promise<Map<string, PostgresVersion>> {
    // Two reads, not a join: either table may not exist yet (the sink creates them), and each answers alone.
    const [rows, tombstones] = await Promise.all([
      collection.kind === 'document'
        ? this.query<{ id: string; version: string }>(
            `SELECT id, version FROM ${qualifiedTable(collection)} WHERE id = ANY($1::text[])`,
            [ids],
          )
        : Promise.resolve([]),
      this.query<{ id: string; version: string }>(
        `SELECT id, version FROM spillway_tombstones WHERE collection = $1 AND id = ANY($2::text[])`,
        [collection.name, ids],
      ),
    ]);
    const rowVersions = new Map(rows.map((r) => [r.id, Number(r.version)]));
    const deletedVersions = new Map(tombstones.map((t) => [t.id, Number(t.version)]));

    return new Map(
      ids.map((id) => {
        const row = rowVersions.get(id) ?? 0;
        const deleted = deletedVersions.get(id) ?? 0;

        return [id, { version: Math.max(row, deleted), live: row > deleted }];
      }),
    );
  }

  private async query<T>(sql: string, params: unknown[]): Promise<T[]> {
    if (!this.database.isConnected) {
      // Just started, or PostgreSQL is down: give the background connect a moment before answering 503.
      await Promise.race([this.database.connect(), new Promise((resolve) => setTimeout(resolve, CONNECT_WAIT_MS))]);
    }
    if (!this.database.isConnected) {
      throw new IngestException(IngestExceptionCode.POSTGRES_UNAVAILABLE, 'PostgreSQL cannot be reached');
    }
    try {
      return await this.database.dataSource.query<T[]>(sql, params);
    } catch (error) {
      if (sqlStateOf(error) === UNDEFINED_TABLE) {
        // The sink creates tables on start; until then PostgreSQL holds nothing for this collection.
        return [];
      }
      if (isPostgresUnavailable(error)) {
        throw new IngestException(IngestExceptionCode.POSTGRES_UNAVAILABLE, 'PostgreSQL cannot be reached', {
          cause: error,
        });
      }
      throw error;
    }
  }
}
