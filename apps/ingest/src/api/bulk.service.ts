import { Injectable } from '@nestjs/common';
import type { Collection } from '@app/collections';
import type { Durability } from '@app/contracts';
import { assertObject, assertValidId } from '../documents/document-body';
import { DocumentsService, type PutOrDelete, type WriteResult } from '../documents/documents.service';
import { EventsService } from '../events/events.service';
import { problemOf } from '../http/problem-details.filter';
import { IngestException, IngestExceptionCode } from '../ingest.exception';
import { BacklogGuard } from '../store/backlog.guard';
import { attempt, inGroups, type ItemResult, settle } from '../store/item-results';
import { requireKind } from './collection.pipe';

export const MAX_BULK_ITEMS = 1000;

/** An item that failed; `outcome: 'unknown'` when Redis went away after the item's write was sent. */
export type BulkItemResult = WriteResult | { error: { status: number; detail: string; outcome?: 'unknown' } };

type BulkOp = PutOrDelete | { op: 'patch'; id: string; doc?: unknown; ifMatch?: number };

/** The ops that are applied together, as opposed to those of an id with a patch, applied one by one. */
const TOGETHER = Symbol('together');

/** Item errors that mean nothing was written for want of Redis or the database (an unknown outcome is not one). */
const NOT_WRITTEN = new Set([IngestExceptionCode.REDIS_UNAVAILABLE, IngestExceptionCode.DATABASE_UNAVAILABLE]);

/** The items of a `_bulk` body; the only checks that fail the whole request, with the backlog's. */
function itemsOf(body: unknown, field: 'ops' | 'events'): unknown[] {
  assertObject(body);
  const items = body[field];
  if (!Array.isArray(items)) {
    throw new IngestException(IngestExceptionCode.INVALID_BODY, `body must be {"${field}": [...]}`);
  }
  if (items.length === 0 || items.length > MAX_BULK_ITEMS) {
    throw new IngestException(
      IngestExceptionCode.INVALID_BODY,
      `"${field}" must hold 1 to ${MAX_BULK_ITEMS} items, not ${items.length}`,
    );
  }

  return items;
}

function toOp(raw: unknown, index: number): BulkOp {
  assertObject(raw, `ops[${index}]`);
  const { op, id, doc, ifMatch } = raw;
  if (op !== 'put' && op !== 'patch' && op !== 'delete') {
    throw new IngestException(IngestExceptionCode.INVALID_BODY, `ops[${index}].op must be "put", "patch" or "delete"`);
  }
  assertValidId(id, `ops[${index}].id`);
  if (ifMatch !== undefined && !(typeof ifMatch === 'number' && Number.isSafeInteger(ifMatch) && ifMatch >= 0)) {
    throw new IngestException(IngestExceptionCode.INVALID_IF_MATCH, `ops[${index}].ifMatch must be a version number`);
  }

  return { op, id, doc, ifMatch };
}

/** A put or a delete, which the ops applied together only hold. */
function asPutOrDelete(op: BulkOp): PutOrDelete {
  if (op.op === 'patch') {
    throw new Error(`a patch of ${op.id} was sent with the ops applied together`);
  }

  return op;
}

/** An item's result: what it was written as, or the domain error it failed with; any other error fails the request. */
function toBulkItemResult(result: ItemResult<WriteResult>): BulkItemResult {
  if (!(result instanceof Error)) {
    return result;
  }
  if (!(result instanceof IngestException)) {
    throw result;
  }
  const { status, detail, extensions } = problemOf(result);

  return { error: { status, detail, ...extensions } };
}

/** `POST /v1/{collection}/_bulk`: items of one id apply in order; different ids go to Redis concurrently. */
@Injectable()
export class BulkService {
  constructor(
    private readonly documents: DocumentsService,
    private readonly events: EventsService,
    private readonly backlog: BacklogGuard,
  ) {}

  async write(
    collection: Collection,
    body: unknown,
    durability: Durability = 'memory',
  ): Promise<{ results: BulkItemResult[] }> {
    const results =
      collection.kind === 'event'
        ? await this.appendEvents(collection, itemsOf(body, 'events'), durability)
        : await this.writeOps(collection, body, durability);
    // Nothing was written: one 503 says it. Items whose outcome is unknown are listed one by one instead.
    if (results.every((r) => r instanceof IngestException && NOT_WRITTEN.has(r.code))) {
      throw new IngestException(IngestExceptionCode.BULK_UNAVAILABLE, 'Redis cannot be reached');
    }

    return { results: results.map(toBulkItemResult) };
  }

  private appendEvents(
    collection: Collection,
    events: unknown[],
    durability: Durability,
  ): Promise<ItemResult<WriteResult>[]> {
    this.backlog.assertAccepting(collection, events.length);

    return this.events.appendAll(collection, events, durability);
  }

  private writeOps(collection: Collection, body: unknown, durability: Durability): Promise<ItemResult<WriteResult>[]> {
    requireKind(collection, 'document');
    const items = itemsOf(body, 'ops');
    this.backlog.assertAccepting(collection, items.length);
    const ops = items.map((raw, i) => attempt(() => toOp(raw, i)));
    // A patch reads its document before it writes it, so every op on an id with a patch is applied on its own,
    // in order. All other ops go to Redis together, in order, in as few script calls as there are partitions.
    const patched = new Set(ops.flatMap((op) => (!(op instanceof Error) && op.op === 'patch' ? [op.id] : [])));

    return inGroups(
      ops,
      (op) => (patched.has(op.id) ? op.id : TOGETHER),
      (group, key) =>
        key === TOGETHER
          ? this.documents.writeAll(collection, group.map(asPutOrDelete), durability)
          : this.applyInTurn(collection, group, durability),
    );
  }

  private async applyInTurn(
    collection: Collection,
    ops: BulkOp[],
    durability: Durability,
  ): Promise<ItemResult<WriteResult>[]> {
    const results: ItemResult<WriteResult>[] = [];
    for (const op of ops) {
      results.push(await settle(() => this.apply(collection, op, durability)));
    }

    return results;
  }

  private apply(collection: Collection, op: BulkOp, durability: Durability): Promise<WriteResult> {
    switch (op.op) {
      case 'put':
        return this.documents.put(collection, op.id, op.doc, op.ifMatch, durability);
      case 'patch':
        return this.documents.patch(collection, op.id, op.doc, op.ifMatch, durability);
      case 'delete':
        return this.documents.remove(collection, op.id, op.ifMatch, durability);
    }
  }
}
