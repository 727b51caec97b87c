import {
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
  PreconditionFailedException,
  ServiceUnavailableException,
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
  /** When it was read (ms since the epoch): a version floor taken from it is only good for a while. */
  readAtMs: number;
}

/** PostgreSQL's state of a document, for a write to an id whose hash Redis no longer holds. */
export interface VersionFloor {
  version: number;
  live: boolean;
  readAtMs: number;
}

/** A floor older than writeDocument accepts is read again; more reads than this means PostgreSQL is too slow. */
const FLOOR_READS = 3;

export interface DocumentWrite {
  op: 'put' | 'del';
  id: string;
  /** JSON text of the new document; '' for a delete. */
  json: string;
  expectedVersion?: number;
  createOnly?: boolean;
  /** PostgreSQL's state, when the caller already read it (a PATCH of a document only PostgreSQL holds). */
  floor?: VersionFloor;
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
    const readAtMs = Date.now();
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
        found.set(id, deleted === '1' || json === null ? null : { version: Number(version), json, readAtMs });
      }
    });
    if (misses.length > 0) {
      const fromPostgres = await this.postgres.documents(collection, misses);
      for (const id of misses) {
        const row = fromPostgres.get(id);
        found.set(id, row ? { ...row, readAtMs } : null);
      }
    }

    return found;
  }

  /** Writes one document change to Redis and its stream; returns the new version. */
  async write(collection: Collection, change: DocumentWrite): Promise<number> {
    let result = await this.runWrite(collection, change, change.floor);
    for (let read = 1; result === ScriptErrorCode.NEED_FLOOR && read <= FLOOR_READS; read++) {
      const readAtMs = Date.now();
      const state = (await this.postgres.versions(collection, [change.id])).get(change.id);
      result = await this.runWrite(collection, change, { version: state?.version ?? 0, live: state?.live ?? false, readAtMs });
    }
    switch (result) {
      case ScriptErrorCode.NOT_FOUND:
        throw new NotFoundException(`${collection.name}/${change.id} does not exist`);
      case ScriptErrorCode.VERSION_MISMATCH:
        throw new VersionMismatchException();
      case ScriptErrorCode.ALREADY_EXISTS:
        throw new ConflictException(`${collection.name}/${change.id} already exists`);
      case ScriptErrorCode.NEED_FLOOR:
        throw new ServiceUnavailableException(`PostgreSQL answered too slowly for ${collection.name}/${change.id}; retry`);
    }
    return result;
  }

  /** Appends an event unless Redis already holds its id; true when appended. */
  async appendEvent(collection: Collection, id: string, json: string): Promise<boolean> {
    const keys = documentKeys(collection.name, id);
    const appended = await this.redis.appendEvent(keys.document, keys.stream, id, json, Date.now(), this.cfg.docTtlSeconds);

    return appended === 1;
  }

  private runWrite(collection: Collection, change: DocumentWrite, floor: VersionFloor | undefined): Promise<number> {
    const keys = documentKeys(collection.name, change.id);

    return this.redis.writeDocument(
      keys.document,
      keys.stream,
      change.op,
      change.id,
      change.json,
      change.expectedVersion === undefined ? '' : String(change.expectedVersion),
      floor ? `${floor.version}:${floor.live ? 1 : 0}:${floor.readAtMs}` : '',
      Date.now(),
      this.cfg.docTtlSeconds,
      change.createOnly ? '1' : '0',
    );
  }
}
