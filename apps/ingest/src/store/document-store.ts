import {
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
  PreconditionFailedException,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Redis } from 'ioredis';
import type { Collection } from '@app/collections';
import { ingestConfig } from '@app/config';
import { DocField, documentKeys } from '@app/contracts';
import { REDIS_CLIENT, ScriptErrorCode } from '@app/redis';
import { PostgresStateReader } from './postgres-state.reader';

export interface StoredDocument {
  version: number;
  /** The document as JSON text. */
  json: string;
}

export interface DocumentWrite {
  op: 'put' | 'del';
  id: string;
  /** JSON text of the new document; '' for a delete. */
  json: string;
  expectedVersion?: number;
  createOnly?: boolean;
  /** PostgreSQL's state, when the caller already read it (a PATCH of a document only PostgreSQL holds). */
  floor?: { version: number; live: boolean };
}

/** Thrown when a conditional write lost a race or its If-Match did not hold. */
export class VersionMismatchException extends PreconditionFailedException {
  constructor() {
    super('the document is not at the version given in If-Match');
  }
}

/** Reads and writes documents and events in Redis, falling through to PostgreSQL for what Redis does not hold. */
@Injectable()
export class DocumentStore {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(ingestConfig.KEY) private readonly cfg: ConfigType<typeof ingestConfig>,
    private readonly postgres: PostgresStateReader,
  ) {}

  /** Current documents by id; null for ids that do not exist or were deleted. */
  async read(collection: Collection, ids: string[]): Promise<Map<string, StoredDocument | null>> {
    const replies = await Promise.all(
      ids.map((id) =>
        this.redis.hmget(documentKeys(collection.name, id).document, DocField.VERSION, DocField.DOC, DocField.DELETED),
      ),
    );
    const found = new Map<string, StoredDocument | null>();
    const misses: string[] = [];
    ids.forEach((id, i) => {
      const [version, json, deleted] = replies[i];
      if (version === null) {
        misses.push(id);
      } else {
        found.set(id, deleted === '1' || json === null ? null : { version: Number(version), json });
      }
    });
    if (misses.length > 0) {
      const fromPostgres = await this.postgres.documents(collection, misses);
      for (const id of misses) {
        found.set(id, fromPostgres.get(id) ?? null);
      }
    }

    return found;
  }

  /** Writes one document change to Redis and its stream; returns the new version. */
  async write(collection: Collection, change: DocumentWrite): Promise<number> {
    const floor = change.floor ? `${change.floor.version}:${change.floor.live ? 1 : 0}` : '';
    let result = await this.runWrite(collection, change, floor);
    if (result === ScriptErrorCode.NEED_FLOOR) {
      const state = (await this.postgres.versions(collection, [change.id])).get(change.id);
      result = await this.runWrite(collection, change, `${state?.version ?? 0}:${state?.live ? 1 : 0}`);
    }
    switch (result) {
      case ScriptErrorCode.NOT_FOUND:
        throw new NotFoundException(`${collection.name}/${change.id} does not exist`);
      case ScriptErrorCode.VERSION_MISMATCH:
        throw new VersionMismatchException();
      case ScriptErrorCode.ALREADY_EXISTS:
        throw new ConflictException(`${collection.name}/${change.id} already exists`);
      case ScriptErrorCode.NEED_FLOOR:
        throw new Error('writeDocument asked for a version floor twice');
    }
    return result;
  }

  /** Appends an event unless Redis already holds its id; true when appended. */
  async appendEvent(collection: Collection, id: string, json: string): Promise<boolean> {
    const keys = documentKeys(collection.name, id);
    const appended = await this.redis.appendEvent(keys.document, keys.stream, id, json, Date.now(), this.cfg.docTtlSeconds);

    return appended === 1;
  }

  private runWrite(collection: Collection, change: DocumentWrite, floor: string): Promise<number> {
    const keys = documentKeys(collection.name, change.id);

    return this.redis.writeDocument(
      keys.document,
      keys.stream,
      change.op,
      change.id,
      change.json,
      change.expectedVersion === undefined ? '' : String(change.expectedVersion),
      floor,
      Date.now(),
      this.cfg.docTtlSeconds,
      change.createOnly ? '1' : '0',
    );
  }
}
