import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Collection } from '@app/collections';
import { ingestConfig } from '@app/config';
import { DocField, documentKeys, type Durability } from '@app/contracts';
import {
  appendEventsArgs,
  REDIS_CLIENT,
  type ScriptChange,
  ScriptErrorCode,
  type VersionFloor,
  versionFloorArg,
  writeDocumentsArgs,
  type RedisClient,
} from '@app/redis';
import { ConfirmingConnection } from '../durability/confirming-connection';
import { IngestException, IngestExceptionCode } from '../ingest.exception';
import { inGroups, type ItemResult, onlyResult, withResults } from './item-results';
import { DatabaseStateReader } from './database-state.reader';
import { redisFailure } from './redis-errors';
import { inScriptCalls } from './script-calls';

export interface StoredDocument {
  version: number;
  /** The document as JSON text. */
  json: string;
  /** When it was read (ms since the epoch): a version floor taken from it is only good for a while. */
  readAtMs: number;
}

/** A floor older than writeDocuments accepts is read again; more reads than this means the database is too slow. */
const FLOOR_READS = 3;

export interface DocumentWrite {
  op: 'put' | 'del';
  id: string;
  /** JSON text of the new document; '' for a delete. */
  json: string;
  expectedVersion?: number;
  createOnly?: boolean;
  /** The database's state, when the caller already read it (a PATCH of a document only the database holds). */
  floor?: VersionFloor;
}

/** A write on its way to Redis, with the floor argument it is sent with ('' until one is known). */
interface PendingWrite {
  change: DocumentWrite;
  floor: string;
}

/** Thrown when a conditional write lost a race or its If-Match did not hold. */
export function versionMismatch(): IngestException {
  return new IngestException(
    IngestExceptionCode.VERSION_MISMATCH,
    'the document is not at the version given in If-Match',
  );
}

/** Reads and writes documents and events in Redis, falling through to the database for what Redis does not hold. */
@Injectable()
export class DocumentStore {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(ingestConfig.KEY) private readonly cfg: ConfigType<typeof ingestConfig>,
    private readonly stored: DatabaseStateReader,
    private readonly confirming: ConfirmingConnection,
  ) {}

  /** Current documents by id; null for ids that do not exist or were deleted. */
  async read(collection: Collection, ids: string[]): Promise<Map<string, StoredDocument | null>> {
    const readAtMs = Date.now();
    const replies = await Promise.all(
      ids.map((id) =>
        this.redis.hmget(documentKeys(collection, id).document, DocField.VERSION, DocField.DOC, DocField.DELETED),
      ),
    ).catch((error: unknown) => {
      throw redisFailure(error, 'read');
    });
    const found = new Map<string, StoredDocument | null>();
    const misses: string[] = [];
    for (const [id, [version, json, deleted]] of withResults(ids, replies)) {
      if (typeof version !== 'string') {
        misses.push(id);
      } else {
        found.set(
          id,
          deleted === '1' || typeof json !== 'string' ? null : { version: Number(version), json, readAtMs },
        );
      }
    }
    if (misses.length > 0) {
      const fromDatabase = await this.stored.documents(collection, misses);
      for (const id of misses) {
        const row = fromDatabase.get(id);
        found.set(id, row ? { ...row, readAtMs } : null);
      }
    }

    return found;
  }

  /** Writes one document change to Redis and its stream; returns the new version. */
  async write(collection: Collection, change: DocumentWrite, durability: Durability = 'memory'): Promise<number> {
    return onlyResult(await this.writeAll(collection, [change], durability));
  }

  /**
   * Writes changes in the order given, one script call per partition and chunk: a change sees the changes before
   * it, so several changes of one id apply in turn. Changes to ids Redis holds no hash for are sent again with the
   * version floor the database reports. Per change, in order: its new version, or the error it failed with.
   * `durability` chooses the connection: the one a WAIT or WAITAOF follows on for `replicated` and `aof`.
   */
  writeAll(
    collection: Collection,
    changes: DocumentWrite[],
    durability: Durability = 'memory',
  ): Promise<ItemResult<number>[]> {
    const writes = changes.map((change) => ({ change, floor: change.floor ? versionFloorArg(change.floor) : '' }));

    return this.writeWithFloors(collection, writes, 0, this.connectionFor(durability));
  }

  /**
   * Appends events unless Redis already holds their ids, in the order given, one script call per partition and
   * chunk. Per event, in order: true when appended, false for a duplicate, or the error its call failed with.
   */
  async appendEvents(
    collection: Collection,
    events: { id: string; json: string }[],
    durability: Durability = 'memory',
  ): Promise<ItemResult<boolean>[]> {
    const redis = this.connectionFor(durability);
    const nowMs = Date.now();
    const results = await inScriptCalls(
      collection,
      events,
      (e) => e.id,
      (keys, chunk) => {
        const scriptEvents = chunk.map((e) => ({ eventKey: keys.document(e.id), id: e.id, doc: e.json }));

        return redis.appendEvents(...appendEventsArgs(keys.stream, nowMs, this.cfg.docTtlSeconds, scriptEvents));
      },
    );

    return results.map((r) => (r instanceof Error ? r : r === 1));
  }

  /**
   * Sends the writes; those whose ids Redis holds no hash for are sent again once their floors are read from
   * the database. A floor older than writeDocuments accepts is read again, up to {@link FLOOR_READS} times.
   */
  private async writeWithFloors(
    collection: Collection,
    writes: PendingWrite[],
    floorReads: number,
    redis: RedisClient,
  ): Promise<ItemResult<number>[]> {
    const replies = await this.runWrites(collection, writes, redis);

    return inGroups(
      withResults(writes, replies),
      ([, reply]) => reply === ScriptErrorCode.NEED_FLOOR,
      async (group, needFloor) => {
        if (!needFloor) {
          return group.map(([write, reply]) =>
            reply instanceof Error ? reply : outcomeOf(collection, write.change.id, reply),
          );
        }
        const again = group.map(([write]) => write);
        if (floorReads === FLOOR_READS) {
          return again.map(
            ({ change }) =>
              new IngestException(
                IngestExceptionCode.DATABASE_UNAVAILABLE,
                `The database answered too slowly for ${collection.name}/${change.id}; retry`,
              ),
          );
        }
        await this.readFloors(collection, again);

        return this.writeWithFloors(collection, again, floorReads + 1, redis);
      },
    );
  }

  /** Sets the floors of the writes to what the database holds for their ids. */
  private async readFloors(collection: Collection, writes: PendingWrite[]): Promise<void> {
    const readAtMs = Date.now();
    const states = await this.stored.versions(collection, [...new Set(writes.map(({ change }) => change.id))]);
    for (const write of writes) {
      const state = states.get(write.change.id);
      write.floor = versionFloorArg({ version: state?.version ?? 0, live: state?.live ?? false, readAtMs });
    }
  }

  /** One writeDocuments call per partition and chunk; per write its script reply, or the error of its call. */
  private runWrites(collection: Collection, writes: PendingWrite[], redis: RedisClient): Promise<ItemResult<number>[]> {
    const nowMs = Date.now();

    return inScriptCalls(
      collection,
      writes,
      ({ change }) => change.id,
      (keys, chunk) => {
        const scriptChanges = chunk.map(({ change, floor }) => toScriptChange(keys.document(change.id), change, floor));

        return redis.writeDocuments(...writeDocumentsArgs(keys.stream, nowMs, this.cfg.docTtlSeconds, scriptChanges));
      },
    );
  }

  /** The shared connection, or for `replicated` and `aof` the one their WAIT follows on (opened by then). */
  private connectionFor(durability: Durability): RedisClient {
    return durability === 'replicated' || durability === 'aof' ? this.confirming.current : this.redis;
  }
}

function toScriptChange(documentKey: string, change: DocumentWrite, floor: string): ScriptChange {
  return {
    documentKey,
    op: change.op,
    id: change.id,
    doc: change.json,
    expectedVersion: change.expectedVersion === undefined ? '' : String(change.expectedVersion),
    floor,
    createOnly: change.createOnly ? '1' : '0',
  };
}

/** The new version, or the error a refused change answers with. */
function outcomeOf(collection: Collection, id: string, reply: number): ItemResult<number> {
  if (reply >= 0) {
    return reply;
  }
  // writeDocuments answers a refusal with a negative ScriptErrorCode.
  switch (reply as ScriptErrorCode) {
    case ScriptErrorCode.NOT_FOUND:
      return new IngestException(IngestExceptionCode.NOT_FOUND, `${collection.name}/${id} does not exist`);
    case ScriptErrorCode.VERSION_MISMATCH:
      return versionMismatch();
    case ScriptErrorCode.ALREADY_EXISTS:
      return new IngestException(IngestExceptionCode.ALREADY_EXISTS, `${collection.name}/${id} already exists`);
    case ScriptErrorCode.NEED_FLOOR:
      return new Error(`writeDocuments asked again for the version floor of ${collection.name}/${id}`);
  }

  return new Error(`writeDocuments answered ${reply} for ${collection.name}/${id}`);
}
