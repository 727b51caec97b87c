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
import { REDIS_CLIENT, type ScriptChange, ScriptErrorCode, writeDocumentsArgs } from '@app/redis';
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

/** Changes per script call: Redis runs a call without pause, so a big `_bulk` is cut up to keep others' latency low. */
const CHANGES_PER_CALL = 100;

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
    const [outcome] = await this.writeAll(collection, [change]);
    if (outcome instanceof Error) {
      throw outcome;
    }

    return outcome;
  }

  /**
   * Writes changes in the order given, one script call per partition and chunk: a change sees the changes before
   * it, so several changes of one id apply in turn. Changes to ids Redis holds no hash for are sent again with the
   * version floor PostgreSQL reports. Per change, in order: its new version, or the error it failed with.
   */
  async writeAll(collection: Collection, changes: DocumentWrite[]): Promise<(number | Error)[]> {
    const outcomes = new Array<number | Error>(changes.length);
    const floors = changes.map((c) => (c.floor ? floorArg(c.floor) : ''));
    let pending = changes.map((_, i) => i);
    for (let read = 0; pending.length > 0; read++) {
      if (read > 0) {
        const failure = read > FLOOR_READS ? undefined : await this.readFloors(collection, changes, pending, floors);
        if (failure !== null) {
          for (const i of pending) {
            outcomes[i] =
              failure ?? new ServiceUnavailableException(`PostgreSQL answered too slowly for ${collection.name}/${changes[i].id}; retry`);
          }
          break;
        }
      }
      const results = await this.runWrites(collection, changes, pending, floors);
      pending = pending.filter((i, k) => {
        const result = results[k];
        if (result === ScriptErrorCode.NEED_FLOOR) {
          return true;
        }
        outcomes[i] = result instanceof Error ? result : outcomeOf(collection, changes[i].id, result);

        return false;
      });
    }

    return outcomes;
  }

  /** Appends an event unless Redis already holds its id; true when appended. */
  async appendEvent(collection: Collection, id: string, json: string): Promise<boolean> {
    const keys = documentKeys(collection.name, id);
    const appended = await this.redis.appendEvent(keys.document, keys.stream, id, json, Date.now(), this.cfg.docTtlSeconds);

    return appended === 1;
  }

  /** Sets the floors of the changes at `indexes` from PostgreSQL; null when read, else the error that stopped it. */
  private async readFloors(collection: Collection, changes: DocumentWrite[], indexes: number[], floors: string[]): Promise<Error | null> {
    const readAtMs = Date.now();
    let states: Awaited<ReturnType<PostgresStateReader['versions']>>;
    try {
      states = await this.postgres.versions(collection, [...new Set(indexes.map((i) => changes[i].id))]);
    } catch (error) {
      return error as Error;
    }
    for (const i of indexes) {
      const state = states.get(changes[i].id);
      floors[i] = floorArg({ version: state?.version ?? 0, live: state?.live ?? false, readAtMs });
    }

    return null;
  }

  /** One writeDocuments call per partition and chunk; per index its script result, or the error of its call. */
  private async runWrites(collection: Collection, changes: DocumentWrite[], indexes: number[], floors: string[]): Promise<(number | Error)[]> {
    const nowMs = Date.now();
    const chunks: { stream: string; ks: number[] }[] = [];
    const openChunks = new Map<string, number[]>();
    indexes.forEach((i, k) => {
      const stream = documentKeys(collection.name, changes[i].id).stream;
      let ks = openChunks.get(stream);
      if (!ks || ks.length === CHANGES_PER_CALL) {
        ks = [];
        openChunks.set(stream, ks);
        chunks.push({ stream, ks });
      }
      ks.push(k);
    });
    const results = new Array<number | Error>(indexes.length);
    await Promise.all(
      // Calls on one connection run in the order sent, so the chunks of a partition apply in turn.
      chunks.map(async ({ stream, ks }) => {
        const scriptChanges = ks.map((k) => toScriptChange(collection, changes[indexes[k]], floors[indexes[k]]));
        try {
          const replies = await this.redis.writeDocuments(...writeDocumentsArgs(stream, nowMs, this.cfg.docTtlSeconds, scriptChanges));
          ks.forEach((k, j) => (results[k] = replies[j]));
        } catch (error) {
          ks.forEach((k) => (results[k] = error as Error));
        }
      }),
    );

    return results;
  }
}

function floorArg(floor: VersionFloor): string {
  return `${floor.version}:${floor.live ? 1 : 0}:${floor.readAtMs}`;
}

function toScriptChange(collection: Collection, change: DocumentWrite, floor: string): ScriptChange {
  return {
    documentKey: documentKeys(collection.name, change.id).document,
    op: change.op,
    id: change.id,
    doc: change.json,
    expectedVersion: change.expectedVersion === undefined ? '' : String(change.expectedVersion),
    floor,
    createOnly: change.createOnly ? '1' : '0',
  };
}

/** The new version, or the error a refused change answers with. */
function outcomeOf(collection: Collection, id: string, result: number): number | Error {
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
