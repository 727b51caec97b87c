import { BadRequestException, Injectable } from '@nestjs/common';
import type { Collection } from '@app/collections';
import { DocumentStore } from '../store/document-store';
import { assertValidId } from './document-body';

export const MAX_IDS_PER_GET = 1000;

/** Batch reads; answers are assembled from the stored JSON text without parsing it. */
@Injectable()
export class ReadsService {
  constructor(private readonly store: DocumentStore) {}

  async many(collection: Collection, idsParam: string | string[] | undefined): Promise<string> {
    idsParam = Array.isArray(idsParam) ? idsParam.join(',') : idsParam;
    if (idsParam === undefined || idsParam === '') {
      throw new BadRequestException('give the ids to read: ?ids=a,b,c');
    }
    const ids = [...new Set(idsParam.split(','))];
    if (ids.length > MAX_IDS_PER_GET) {
      throw new BadRequestException(`at most ${MAX_IDS_PER_GET} ids per request, not ${ids.length}`);
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
