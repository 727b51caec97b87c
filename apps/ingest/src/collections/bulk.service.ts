import { BadRequestException, HttpException, Injectable, ServiceUnavailableException } from '@nestjs/common';
import type { Collection } from '@app/collections';
import { DocumentsService, type PutOrDelete, type WriteResult } from '../documents/documents.service';
import { EventsService } from '../events/events.service';
import { BacklogGuard } from '../store/backlog.guard';
import { isOutcomeUnknown, isRedisUnavailable, OUTCOME_UNKNOWN_DETAIL } from '../store/redis-errors';
import { assertObject, assertValidId, type JsonObject } from './document-body';
import { requireKind } from './collection.pipe';

export const MAX_BULK_ITEMS = 1000;

/** An item that failed; `outcome: 'unknown'` when Redis went away after the item's write was sent. */
export type BulkItemResult = WriteResult | { error: { status: number; detail: string; outcome?: 'unknown' } };

interface BulkOp {
  op: 'put' | 'patch' | 'delete';
  id: string;
  doc?: unknown;
  ifMatch?: number;
}

function itemsOf(body: unknown, field: 'ops' | 'events'): unknown[] {
  assertObject(body);
  const items = body[field];
  if (!Array.isArray(items)) {
    throw new BadRequestException(`body must be {"${field}": [...]}`);
  }
  if (items.length === 0 || items.length > MAX_BULK_ITEMS) {
    throw new BadRequestException(`"${field}" must hold 1 to ${MAX_BULK_ITEMS} items, not ${items.length}`);
  }

  return items;
}

function toOp(raw: unknown, index: number): BulkOp {
  assertObject(raw, `ops[${index}]`);
  const { op, id, doc, ifMatch } = raw;
  if (op !== 'put' && op !== 'patch' && op !== 'delete') {
    throw new BadRequestException(`ops[${index}].op must be "put", "patch" or "delete"`);
  }
  assertValidId(id, `ops[${index}].id`);
  if (ifMatch !== undefined && !(Number.isSafeInteger(ifMatch) && (ifMatch as number) >= 0)) {
    throw new BadRequestException(`ops[${index}].ifMatch must be a version number`);
  }

  return { op, id, doc, ifMatch: ifMatch as number | undefined };
}

/** An item's result for the error it failed with: an HTTP error or Redis going away; anything else fails the request. */
function itemError(error: unknown): BulkItemResult {
  if (error instanceof HttpException) {
    const response = error.getResponse();
    const detail = typeof response === 'string' ? response : String((response as { message?: unknown }).message);

    return { error: { status: error.getStatus(), detail } };
  }
  if (isOutcomeUnknown(error)) {
    return { error: { status: 503, detail: OUTCOME_UNKNOWN_DETAIL, outcome: 'unknown' } };
  }
  if (isRedisUnavailable(error)) {
    return { error: { status: 503, detail: 'Redis cannot be reached' } };
  }
  throw error;
}

async function settle(write: () => Promise<WriteResult>): Promise<BulkItemResult> {
  try {
    return await write();
  } catch (error) {
    return itemError(error);
  }
}

/** `POST /v1/{collection}/_bulk`: items of one id apply in order; different ids go to Redis concurrently. */
@Injectable()
export class BulkService {
  constructor(
    private readonly documents: DocumentsService,
    private readonly events: EventsService,
    private readonly backlog: BacklogGuard,
  ) {}

  async write(collection: Collection, body: unknown): Promise<{ results: BulkItemResult[] }> {
    const results = await this.writeItems(collection, body);
    // Nothing was written: one 503 says it. Items whose outcome is unknown are listed one by one instead.
    if (results.every((r) => 'error' in r && r.error.status === 503 && r.error.outcome === undefined)) {
      throw new ServiceUnavailableException('Redis cannot be reached');
    }

    return { results };
  }

  private async writeItems(collection: Collection, body: unknown): Promise<BulkItemResult[]> {
    if (collection.kind === 'event') {
      const events = itemsOf(body, 'events');
      this.backlog.assertAccepting(collection, events.length);

      return (await this.events.appendAll(collection, events)).map((r) => (r instanceof Error ? itemError(r) : r));
    }
    requireKind(collection, 'document');
    const ops = itemsOf(body, 'ops').map(toOp);
    this.backlog.assertAccepting(collection, ops.length);
    const results = new Array<BulkItemResult>(ops.length);
    // A patch reads its document before it writes it, so every op on an id with a patch is applied on its own,
    // in order. All other ops go to Redis together, in order, in as few script calls as there are partitions.
    const patched = new Set(ops.filter((op) => op.op === 'patch').map((op) => op.id));
    const oneByOne = new Map<string, number[]>();
    const together: number[] = [];
    ops.forEach((op, i) => {
      if (!patched.has(op.id)) {
        together.push(i);
      } else if (oneByOne.has(op.id)) {
        oneByOne.get(op.id)!.push(i);
      } else {
        oneByOne.set(op.id, [i]);
      }
    });
    const putsAndDeletes = together.map((i) => ops[i] as PutOrDelete);
    await Promise.all([
      this.documents
        .writeAll(collection, putsAndDeletes)
        .then((outcomes) =>
          outcomes.forEach(
            (outcome, k) => (results[together[k]] = outcome instanceof Error ? itemError(outcome) : outcome),
          ),
        ),
      ...[...oneByOne.values()].map(async (indexes) => {
        for (const i of indexes) {
          results[i] = await settle(() => this.apply(collection, ops[i]));
        }
      }),
    ]);

    return results;
  }

  private apply(collection: Collection, op: BulkOp): Promise<WriteResult> {
    switch (op.op) {
      case 'put':
        return this.documents.put(collection, op.id, op.doc, op.ifMatch);
      case 'patch':
        return this.documents.patch(collection, op.id, op.doc, op.ifMatch);
      case 'delete':
        return this.documents.remove(collection, op.id, op.ifMatch);
    }
  }
}
