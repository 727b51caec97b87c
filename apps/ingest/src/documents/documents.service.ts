import { Injectable, NotFoundException } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import type { Collection } from '@app/collections';
import { SpillwayMetrics } from '@app/metrics';
import { assertObject, idInBody, type JsonObject, prepareDocument } from '../collections/document-body';
import { BacklogGuard } from '../store/backlog.guard';
import { type DocumentWrite, DocumentStore, type StoredDocument, VersionMismatchException } from '../store/document-store';
import { applyMergePatch } from './merge-patch';

export interface WriteResult {
  id: string;
  version: number;
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

  async put(collection: Collection, id: string, body: unknown, ifMatch?: number): Promise<WriteResult> {
    const change = this.toChange(collection, 'put', id, body, ifMatch);
    this.backlog.assertAccepting(collection);
    const version = await this.store.write(collection, change);

    return this.written(collection, 'put', id, version);
  }

  /** A put or a delete, checked and ready for {@link writeAll}; throws 400 for a document that cannot be stored. */
  toChange(collection: Collection, op: 'put' | 'delete', id: string, body: unknown, ifMatch?: number): DocumentWrite {
    if (op === 'delete') {
      return { op: 'del', id, json: '', expectedVersion: ifMatch };
    }
    assertObject(body);

    return { op: 'put', id, json: prepareDocument(collection, id, body), expectedVersion: ifMatch };
  }

  /** Puts and deletes of one request, applied in order; per change its result, or the error it failed with. */
  async writeAll(collection: Collection, changes: DocumentWrite[]): Promise<(WriteResult | Error)[]> {
    const outcomes = await this.store.writeAll(collection, changes);
    let puts = 0;
    let deletes = 0;
    const results = outcomes.map((outcome, i): WriteResult | Error => {
      if (outcome instanceof Error) {
        return outcome;
      }
      if (changes[i].op === 'put') {
        puts += 1;
      } else {
        deletes += 1;
      }

      return { id: changes[i].id, version: outcome };
    });
    this.metrics.ingestWrites.inc({ collection: collection.name, op: 'put' }, puts);
    this.metrics.ingestWrites.inc({ collection: collection.name, op: 'delete' }, deletes);

    return results;
  }

  async create(collection: Collection, body: unknown): Promise<WriteResult> {
    assertObject(body);
    const id = idInBody(collection, body) ?? uuidv7();
    const json = prepareDocument(collection, id, body);
    this.backlog.assertAccepting(collection);
    const version = await this.store.write(collection, { op: 'put', id, json, createOnly: true });

    return this.written(collection, 'create', id, version);
  }

  async patch(collection: Collection, id: string, patch: unknown, ifMatch?: number): Promise<WriteResult> {
    assertObject(patch);
    for (let attempt = 1; ; attempt++) {
      const current = await this.current(collection, id);
      if (ifMatch !== undefined && ifMatch !== current.version) {
        throw new VersionMismatchException();
      }
      const merged = applyMergePatch(JSON.parse(current.json) as JsonObject, patch);
      assertObject(merged, 'the patched document');
      const json = prepareDocument(collection, id, merged);
      this.backlog.assertAccepting(collection);
      try {
        const version = await this.store.write(collection, {
          op: 'put',
          id,
          json,
          expectedVersion: current.version,
          floor: { version: current.version, live: true, readAtMs: current.readAtMs },
        });

        return this.written(collection, 'patch', id, version);
      } catch (error) {
        // Another writer got in between our read and our write: read again, unless the client pinned a version.
        if (!(error instanceof VersionMismatchException) || ifMatch !== undefined || attempt === PATCH_ATTEMPTS) {
          throw error;
        }
      }
    }
  }

  async remove(collection: Collection, id: string, ifMatch?: number): Promise<WriteResult> {
    this.backlog.assertAccepting(collection);
    const version = await this.store.write(collection, this.toChange(collection, 'delete', id, undefined, ifMatch));

    return this.written(collection, 'delete', id, version);
  }

  async current(collection: Collection, id: string): Promise<StoredDocument> {
    const doc = (await this.store.read(collection, [id])).get(id);
    if (!doc) {
      throw new NotFoundException(`${collection.name}/${id} does not exist`);
    }

    return doc;
  }

  private written(collection: Collection, op: string, id: string, version: number): WriteResult {
    this.metrics.ingestWrites.inc({ collection: collection.name, op });

    return { id, version };
  }
}
