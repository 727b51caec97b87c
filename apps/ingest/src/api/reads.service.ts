import { Injectable } from '@nestjs/common';
import type { Collection } from '@app/collections';
import { assertValidId } from '../documents/document-body';
import { IngestException, IngestExceptionCode } from '../ingest.exception';
import { DocumentStore } from '../store/document-store';

export const MAX_IDS_PER_GET = 1000;

/** Batch reads; answers are assembled from the stored JSON text without parsing it. */
@Injectable()
export class ReadsService {
  constructor(private readonly store: DocumentStore) {}

  async many(collection: Collection, idsParam: string | string[] | undefined): Promise<string> {
    idsParam = Array.isArray(idsParam) ? idsParam.join(',') : idsParam;
    if (idsParam === undefined || idsParam === '') {
      throw new IngestException(IngestExceptionCode.INVALID_QUERY, 'give the ids to read: ?ids=a,b,c');
    }
    const ids = [...new Set(idsParam.split(','))];
    if (ids.length > MAX_IDS_PER_GET) {
      throw new IngestException(
        IngestExceptionCode.INVALID_QUERY,
        `at most ${MAX_IDS_PER_GET} ids per request, not ${ids.length}`,
      );
    }
    ids.forEach((id) => assertValidId(id, `id "${id}"`));
    const docs = await this.store.read(collection, ids);
    const items: string[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const doc = docs.get(id);
      if (doc) {
        items.push(doc.json);
      } else {
        missing.push(id);
      }
    }

    return `{"items":[${items.join(',')}],"missing":${JSON.stringify(missing)}}`;
  }
}
