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
import { DocField, documentKeys, type PartitionKeys, partitionKeys, partitionOf } from '@app/contracts';
import { appendEventsArgs, REDIS_CLIENT, type ScriptChange, ScriptErrorCode, writeDocumentsArgs } from '@app/redis';
import { type ItemResult, onlyResult } from './item-results';
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

/** A floor older than writeDocuments accepts is read again; more reads than this means PostgreSQL is too slow. */
const FLOOR_READS = 3;

/** Items per script call: Redis runs a call without pause, so a big `_bulk` is cut up to keep others' latency low. */
const ITEMS_PER_CALL = 100;

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
    return onlyResult(await this.writeAll(collection, [change]));
  }

  /**
   * Writes changes in the order given, one script call per partition and chunk: a change sees the changes before
   * it, so several changes of one id apply in turn. Changes to ids Redis holds no hash for are sent again with the
   * version floor PostgreSQL reports. Per change, in order: its new version, or the error it failed with.
   */
  async writeAll(collection: Collection, changes: DocumentWrite[]): Promise<ItemResult<number>[]> {
    const outcomes = new Array<ItemResult<number>>(changes.length);
    const floors = changes.map((c) => (c.floor ? floorArg(c.floor) : ''));
    let pending = changes.map((_, i) => i);
    for (let reads = 0; ; reads++) {
      const results = await this.runWrites(collection, changes, pending, floors);
      pending = pending.filter((i, k) => {
        const result = results[k];
        if (result === ScriptErrorCode.NEED_FLOOR) {
          return true;
        }
        outcomes[i] = result instanceof Error ? result : outcomeOf(collection, changes[i].id, result);

        return false;
      });
      if (pending.length === 0) {
        return outcomes;
      }
      if (reads === FLOOR_READS) {
        for (const i of pending) {
          outcomes[i] = new ServiceUnavailableException(
            `PostgreSQL answered too slowly for ${collection.name}/${changes[i].id}; retry`,
          );
        }

        return outcomes;
      }
      try {
        await this.readFloors(collection, changes, pending, floors);
      } catch (error) {
        pending.forEach((i) => (outcomes[i] = error as Error));

        return outcomes;
      }
    }
  }

  /**
   * Appends events unless Redis already holds their ids, in the order given, one script call per partition and
   * chunk. Per event, in order: true when appended, false for a duplicate, or the error its call failed with.
   */
  async appendEvents(collection: Collection, events: { id: string; json: string }[]): Promise<ItemResult<boolean>[]> {
    const nowMs = Date.now();
    const results = await inScriptCalls(
      collection,
      events,
      (e) => e.id,
      (keys, chunk) => {
        const scriptEvents = chunk.map((e) => ({ eventKey: keys.document(e.id), id: e.id, doc: e.json }));

        return this.redis.appendEvents(...appendEventsArgs(keys.stream, nowMs, this.cfg.docTtlSeconds, scriptEvents));
      },
    );

    return results.map((r) => (r instanceof Error ? r : r === 1));
  }

  /** Sets the floors of the changes at `indexes` to what PostgreSQL holds for their ids. */
  private async readFloors(
    collection: Collection,
    changes: DocumentWrite[],
    indexes: number[],
    floors: string[],
  ): Promise<void> {
    const readAtMs = Date.now();
    const states = await this.postgres.versions(collection, [...new Set(indexes.map((i) => changes[i].id))]);
    for (const i of indexes) {
      const state = states.get(changes[i].id);
      floors[i] = floorArg({ version: state?.version ?? 0, live: state?.live ?? false, readAtMs });
    }
  }

  /** One writeDocuments call per partition and chunk; per index its script result, or the error of its call. */
  private runWrites(
    collection: Collection,
    changes: DocumentWrite[],
    indexes: number[],
    floors: string[],
  ): Promise<ItemResult<number>[]> {
    const nowMs = Date.now();

    return inScriptCalls(
      collection,
      indexes,
      (i) => changes[i].id,
      (keys, chunk) => {
        const scriptChanges = chunk.map((i) => toScriptChange(keys.document(changes[i].id), changes[i], floors[i]));

        return this.redis.writeDocuments(
          ...writeDocumentsArgs(keys.stream, nowMs, this.cfg.docTtlSeconds, scriptChanges),
        );
      },
    );
  }
}

/**
 * Sends items to Redis in script calls of one partition each, at most {@link ITEMS_PER_CALL} items a call, and
 * returns per item, in order, its reply or the error of its call. Calls on one connection run in the order sent,
 * so the items of a partition apply in the order given.
 */
async function inScriptCalls<T, R>(
  collection: Collection,
  items: T[],
  idOf: (item: T) => string,
  call: (keys: PartitionKeys, chunk: T[]) => Promise<R[]>,
): Promise<ItemResult<R>[]> {
  const chunks: { keys: PartitionKeys; at: number[] }[] = [];
  const openChunks = new Map<PartitionKeys, number[]>();
  items.forEach((item, k) => {
    const keys = partitionKeys(collection.name, partitionOf(idOf(item)));
    let at = openChunks.get(keys);
    if (!at || at.length === ITEMS_PER_CALL) {
      at = [];
      openChunks.set(keys, at);
      chunks.push({ keys, at });
    }
    at.push(k);
  });
  const results = new Array<ItemResult<R>>(items.length);
  await Promise.all(
    chunks.map(async ({ keys, at }) => {
      try {
        const replies = await call(
          keys,
          at.map((k) => items[k]),
        );
        at.forEach((k, j) => (results[k] = replies[j]));
      } catch (error) {
        at.forEach((k) => (results[k] = error as Error));
      }
    }),
  );

  return results;
}

function floorArg(floor: VersionFloor): string {
  return `${floor.version}:${floor.live ? 1 : 0}:${floor.readAtMs}`;
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
function outcomeOf(collection: Collection, id: string, result: number): ItemResult<number> {
  switch (result) {
    case ScriptErrorCode.NOT_FOUND:
      return new NotFoundException(`${collection.name}/${id} does not exist`);
    case ScriptErrorCode.VERSION_MISMATCH:
      return new VersionMismatchException();
    case ScriptErrorCode.ALREADY_EXISTS:
      return new ConflictException(`${collection.name}/${id} already exists`);
  }

  return result;
}
