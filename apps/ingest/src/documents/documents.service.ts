import { Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import type { Collection } from '@app/collections';
import { applyMergePatch, type Durability } from '@app/contracts';
import { SpillwayMetrics } from '@app/metrics';
import { IngestException, IngestExceptionCode } from '../ingest.exception';
import { BacklogGuard } from '../store/backlog.guard';
import { type DocumentWrite, DocumentStore, type StoredDocument, versionMismatch } from '../store/document-store';
import { type ItemResult, prepareThenWrite, withResults } from '../store/item-results';
import { assertObject, idInBody, type JsonObject, prepareDocument } from './document-body';

export interface WriteResult {
  id: string;
  version: number;
}

/** A put or a delete of one document, as `_bulk` lists them. */
export interface PutOrDelete {
  op: 'put' | 'delete';
  id: string;
  doc?: unknown;
  ifMatch?: number;
}

/** The write of a put or a delete, its document checked; throws 400 for one that cannot be stored. */
function toChange(collection: Collection, { op, id, doc, ifMatch }: PutOrDelete): DocumentWrite {
  if (op === 'delete') {
    return { op: 'del', id, json: '', expectedVersion: ifMatch };
  }
  assertObject(doc);

  return { op: 'put', id, json: prepareDocument(collection, id, doc), expectedVersion: ifMatch };
}

/** A PATCH that races other writers re-reads and retries; past this many losses it gives up with 412. */
const PATCH_ATTEMPTS = 5;

@Injectable()
export class DocumentsService {
  constructor(
    private readonly store: DocumentStore,
    private readonly backlog: BacklogGuard,
    private readonly metrics: SpillwayMetrics,
  ) {}

  async put(
    collection: Collection,
    id: string,
    body: unknown,
    ifMatch?: number,
    durability: Durability = 'memory',
  ): Promise<WriteResult> {
    const change = toChange(collection, { op: 'put', id, doc: body, ifMatch });
    this.backlog.assertAccepting(collection);
    const version = await this.store.write(collection, change, durability);

    return this.written(collection, 'put', id, version);
  }

  /**
   * Puts and deletes of one request, applied in order; per op its result, or the error it failed with: 400 for a
   * document that cannot be stored, 404/412 as for one write, or Redis's.
   */
  writeAll(
    collection: Collection,
    ops: PutOrDelete[],
    durability: Durability = 'memory',
  ): Promise<ItemResult<WriteResult>[]> {
    return prepareThenWrite(
      ops,
      (op) => toChange(collection, op),
      async (changes) => {
        const outcomes = await this.store.writeAll(collection, changes, durability);
        const written = { put: 0, delete: 0 };
        const results = withResults(changes, outcomes).map(([change, outcome]): ItemResult<WriteResult> => {
          if (outcome instanceof Error) {
            return outcome;
          }
          written[change.op === 'put' ? 'put' : 'delete'] += 1;

          return { id: change.id, version: outcome };
        });
        this.metrics.ingestWrites.inc({ collection: collection.name, op: 'put' }, written.put);
        this.metrics.ingestWrites.inc({ collection: collection.name, op: 'delete' }, written.delete);

        return results;
      },
    );
  }

  async create(collection: Collection, body: unknown, durability: Durability = 'memory'): Promise<WriteResult> {
    assertObject(body);
    const id = idInBody(collection, body) ?? uuidv7();
    const json = prepareDocument(collection, id, body);
    this.backlog.assertAccepting(collection);
    const version = await this.store.write(collection, { op: 'put', id, json, createOnly: true }, durability);

    return this.written(collection, 'create', id, version);
  }

  async patch(
    collection: Collection,
    id: string,
    patch: unknown,
    ifMatch?: number,
    durability: Durability = 'memory',
  ): Promise<WriteResult> {
    assertObject(patch);
    for (let attempt = 1; ; attempt++) {
      const current = await this.current(collection, id);
      if (ifMatch !== undefined && ifMatch !== current.version) {
        throw versionMismatch();
      }
      const merged = applyMergePatch(JSON.parse(current.json) as JsonObject, patch);
      assertObject(merged, 'the patched document');
      const json = prepareDocument(collection, id, merged);
      this.backlog.assertAccepting(collection);
      try {
        const version = await this.store.write(
          collection,
          {
            op: 'put',
            id,
            json,
            expectedVersion: current.version,
            floor: { version: current.version, live: true, readAtMs: current.readAtMs },
          },
          durability,
        );

        return this.written(collection, 'patch', id, version);
      } catch (error) {
        // Another writer got in between our read and our write: read again, unless the client pinned a version.
        const lostRace = error instanceof IngestException && error.code === IngestExceptionCode.VERSION_MISMATCH;
        if (!lostRace || ifMatch !== undefined || attempt === PATCH_ATTEMPTS) {
          throw error;
        }
      }
    }
  }

  async remove(
    collection: Collection,
    id: string,
    ifMatch?: number,
    durability: Durability = 'memory',
  ): Promise<WriteResult> {
    this.backlog.assertAccepting(collection);
    const version = await this.store.write(collection, toChange(collection, { op: 'delete', id, ifMatch }), durability);

    return this.written(collection, 'delete', id, version);
  }

  async current(collection: Collection, id: string): Promise<StoredDocument> {
    const doc = (await this.store.read(collection, [id])).get(id);
    if (!doc) {
      throw new IngestException(IngestExceptionCode.NOT_FOUND, `${collection.name}/${id} does not exist`);
    }

    return doc;
  }

  private written(collection: Collection, op: string, id: string, version: number): WriteResult {
    this.metrics.ingestWrites.inc({ collection: collection.name, op });

    return { id, version };
  }
}
