// Entries the run appends on purpose for the sink to dead-letter.
import type { Redis } from 'ioredis';
import { ChangeOp, documentKeys, EntryFieldV1 } from '@app/contracts';

/** An entry the run appended on purpose for the sink to dead-letter. */
export interface Poison {
  streamId: string;
  id: string;
  collection: string;
  why: string;
}

/**
 * Appends an entry that the sink must dead-letter, as a buggy or foreign producer could: the even ones are not
 * JSON, the odd ones hold what PostgreSQL's jsonb refuses (a NUL character, which ingest itself turns away). They
 * use entry layout 1, which ingest no longer writes, so the run also keeps the sink's reading of a pre-upgrade
 * backlog honest.
 */
export async function injectPoison(redis: Redis, collection: string, n: number): Promise<Poison> {
  const id = `poison-${n}`;
  const [doc, why] =
    n % 2 === 0
      ? ['{"owner":', 'undecodable JSON']
      : [JSON.stringify({ owner: 'nul\u0000inside', id }), 'NUL character'];
  const fields = {
    [EntryFieldV1.SCHEMA]: '1',
    [EntryFieldV1.OP]: ChangeOp.PUT,
    [EntryFieldV1.ID]: id,
    [EntryFieldV1.VERSION]: '1',
    [EntryFieldV1.DOC]: doc,
    [EntryFieldV1.INGESTED_AT]: String(Date.now()),
  };
  const streamId = await redis.xadd(documentKeys(collection, id).stream, '*', ...Object.entries(fields).flat());

  return { streamId: String(streamId), id, collection, why };
}
