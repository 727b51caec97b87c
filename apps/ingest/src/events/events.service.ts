import { Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import type { Collection } from '@app/collections';
import { SpillwayMetrics } from '@app/metrics';
import { assertObject, idInBody, prepareDocument } from '../collections/document-body';
import type { WriteResult } from '../documents/documents.service';
import { BacklogGuard } from '../store/backlog.guard';
import { DocumentStore } from '../store/document-store';

/** Events are written once and never change, so their version is always 1. */
const EVENT_VERSION = 1;

@Injectable()
export class EventsService {
  constructor(
    private readonly store: DocumentStore,
    private readonly backlog: BacklogGuard,
    private readonly metrics: SpillwayMetrics,
  ) {}

  async append(collection: Collection, body: unknown): Promise<WriteResult> {
    assertObject(body);
    const id = idInBody(collection, body) ?? uuidv7();
    const json = prepareDocument(collection, id, body);
    this.backlog.assertAccepting(collection);
    const appended = await this.store.appendEvent(collection, id, json);
    this.metrics.ingestWrites.inc({ collection: collection.name, op: appended ? 'event' : 'duplicate' });

    return { id, version: EVENT_VERSION };
  }
}
