import { Injectable } from '@nestjs/common';
import type { Collection } from '@app/collections';
import { DatabaseService } from '@app/persistence';
import { IngestException, IngestExceptionCode } from '../ingest.exception';

/** What the database holds for a document id: the highest version it has seen, and whether a row is live. */
export interface StoredVersion {
  version: number;
  live: boolean;
}

export interface StoredDocument {
  version: number;
  json: string;
}

const CONNECT_WAIT_MS = 2000;

/** Reads the database for what Redis no longer holds: documents for GET, version floors for writes. */
@Injectable()
export class DatabaseStateReader {
  constructor(private readonly database: DatabaseService) {}

  documents(collection: Collection, ids: string[]): Promise<Map<string, StoredDocument>> {
    return this.read((dialect, dataSource) => dialect.reads.documents(dataSource, collection, ids));
  }

  async versions(collection: Collection, ids: string[]): Promise<Map<string, StoredVersion>> {
    const stored = await this.read((dialect, dataSource) => dialect.reads.versions(dataSource, collection, ids));

    return new Map(
      ids.map((id) => {
        const { row, deleted } = stored.get(id) ?? { row: 0, deleted: 0 };

        return [id, { version: Math.max(row, deleted), live: row > deleted }];
      }),
    );
  }

  private async read<T>(
    reading: (dialect: DatabaseService['dialect'], dataSource: DatabaseService['dataSource']) => Promise<T>,
  ): Promise<T> {
    const { dialect } = this.database;
    if (!this.database.isConnected) {
      // Just started, or the database is down: give the background connect a moment before answering 503.
      await Promise.race([this.database.connect(), new Promise((resolve) => setTimeout(resolve, CONNECT_WAIT_MS))]);
    }
    if (!this.database.isConnected) {
      throw new IngestException(IngestExceptionCode.DATABASE_UNAVAILABLE, `${dialect.label} cannot be reached`);
    }
    try {
      return await reading(dialect, this.database.dataSource);
    } catch (error) {
      if (dialect.errors.classify(error) === 'unavailable') {
        throw new IngestException(IngestExceptionCode.DATABASE_UNAVAILABLE, `${dialect.label} cannot be reached`, {
          cause: error,
        });
      }
      throw error;
    }
  }
}
