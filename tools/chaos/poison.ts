// Entries the run appends on purpose for the sink to dead-letter.
import { ChangeOp, documentKeys, EntryFieldV1, type PartitionedCollection } from '@app/contracts';
import type { RedisClient } from '@app/redis';
import type { DatabaseKind } from '../local-stack';

/** An entry the run appended on purpose for the sink to dead-letter. */
export interface Poison {
  streamId: string;
  id: string;
  collection: string;
  why: string;
}

/**
 * JSON that the database refuses and ingest itself turns away: PostgreSQL's jsonb refuses a NUL character, which
 * MariaDB's JSON check takes; MariaDB refuses an unpaired surrogate (error 4025, its JSON_VALID check).
 */
const REFUSED_JSON: Record<DatabaseKind, { doc: (id: string) => string; why: string }> = {
  postgres: { doc: (id) => JSON.stringify({ owner: 'nul\u0000inside', id }), why: 'NUL character' },
  mariadb: { doc: (id) => JSON.stringify({ owner: 'lone \ud800 surrogate', id }), why: 'unpaired surrogate' },
};

/**
 * Appends an entry that the sink must dead-letter, as a buggy or foreign producer could: the even ones are not
 * JSON, the odd ones hold JSON the database refuses ({@link REFUSED_JSON}). They use entry layout 1, which ingest no
 * longer writes, so the run also keeps the sink's reading of a pre-upgrade backlog honest.
 */
export async function injectPoison(
  redis: RedisClient,
  collection: PartitionedCollection,
  n: number,
  database: DatabaseKind,
): Promise<Poison> {
  const id = `poison-${n}`;
  const refused = REFUSED_JSON[database];
  const [doc, why] = n % 2 === 0 ? ['{"owner":', 'undecodable JSON'] : [refused.doc(id), refused.why];
  const fields = {
    [EntryFieldV1.SCHEMA]: '1',
    [EntryFieldV1.OP]: ChangeOp.PUT,
    [EntryFieldV1.ID]: id,
    [EntryFieldV1.VERSION]: '1',
    [EntryFieldV1.DOC]: doc,
    [EntryFieldV1.INGESTED_AT]: String(Date.now()),
  };
  const streamId = await redis.xadd(documentKeys(collection, id).stream, '*', ...Object.entries(fields).flat());

  return { streamId: String(streamId), id, collection: collection.name, why };
}
