import { Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import type { Collection } from '@app/collections';
import type { Durability } from '@app/contracts';
import { SpillwayMetrics } from '@app/metrics';
import { assertObject, idInBody, prepareDocument } from '../documents/document-body';
import type { WriteResult } from '../documents/documents.service';
import { BacklogGuard } from '../store/backlog.guard';
import { DocumentStore } from '../store/document-store';
import { type ItemResult, onlyResult, prepareThenWrite, withResults } from '../store/item-results';

/** Events are written once and never change, so their version is always 1. */
const EVENT_VERSION = 1;

@Injectable()
export class EventsService {
  constructor(
    private readonly store: DocumentStore,
    private readonly backlog: BacklogGuard,
    private readonly metrics: SpillwayMetrics,
  ) {}

  async append(collection: Collection, body: unknown, durability: Durability = 'memory'): Promise<WriteResult> {
    const event = prepareEvent(collection, body);
    this.backlog.assertAccepting(collection);

    return onlyResult(await this.appendPrepared(collection, [event], durability));
  }

  /**
   * Events of one request, appended in order (a repeated id is stored once); per event its result, or the error it
   * failed with: 400 for a body that cannot be stored, or Redis's.
   */
  appendAll(
    collection: Collection,
    bodies: unknown[],
    durability: Durability = 'memory',
  ): Promise<ItemResult<WriteResult>[]> {
    return prepareThenWrite(
      bodies,
      (body) => prepareEvent(collection, body),
      (events) => this.appendPrepared(collection, events, durability),
    );
  }

  private async appendPrepared(
    collection: Collection,
    events: PreparedEvent[],
    durability: Durability,
  ): Promise<ItemResult<WriteResult>[]> {
    const outcomes = await this.store.appendEvents(collection, events, durability);
    const appended = outcomes.filter((o) => o === true).length;
    const duplicates = outcomes.filter((o) => o === false).length;
    this.metrics.ingestWrites.inc({ collection: collection.name, op: 'event' }, appended);
    this.metrics.ingestWrites.inc({ collection: collection.name, op: 'duplicate' }, duplicates);

    return withResults(events, outcomes).map(([{ id }, o]) =>
      o instanceof Error ? o : { id, version: EVENT_VERSION },
    );
  }
}

interface PreparedEvent {
  id: string;
  json: string;
}

function prepareEvent(collection: Collection, body: unknown): PreparedEvent {
  assertObject(body);
  const id = idInBody(collection, body) ?? uuidv7();

  return { id, json: prepareDocument(collection, id, body) };
}
