import { Injectable, type PipeTransform } from '@nestjs/common';
import { type Collection, type CollectionKind, CollectionRegistry } from '@app/collections';
import { assertValidId } from '../documents/document-body';
import { IngestException, IngestExceptionCode } from '../ingest.exception';

/** Resolves the `{collection}` URL segment to its definition; UNKNOWN_COLLECTION when none is configured. */
@Injectable()
export class CollectionPipe implements PipeTransform<string, Collection> {
  constructor(private readonly registry: CollectionRegistry) {}

  transform(name: string): Collection {
    const collection = this.registry.find(name);
    if (!collection) {
      throw new IngestException(IngestExceptionCode.UNKNOWN_COLLECTION, `no collection named "${name}"`);
    }

    return collection;
  }
}

/** Checks the `{id}` URL segment. */
@Injectable()
export class IdPipe implements PipeTransform<string, string> {
  transform(id: string): string {
    assertValidId(id);

    return id;
  }
}

export function requireKind(collection: Collection, kind: CollectionKind): void {
  if (collection.kind !== kind) {
    const hint =
      kind === 'document' ? 'events are appended with POST' : 'documents are written with PUT, PATCH, DELETE';
    throw new IngestException(
      IngestExceptionCode.WRONG_COLLECTION_KIND,
      `${collection.name} is ${collection.kind === 'event' ? 'an' : 'a'} ${collection.kind} collection: ${hint}`,
    );
  }
}
