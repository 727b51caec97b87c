import type { PoolClient } from 'pg';
import { preparedRows } from './prepared-query';

/**
 * Takes the transaction-scoped advisory locks of some documents of a collection (parameters: the collection's name,
 * the ids as a text array): the keys, and the order they are taken in, of step 1 of spillway_write_documents_v1 and
 * _v2 (migrations/1763900000000-create-write-documents-function.ts, 1764100000000-create-write-documents-v2-function.ts),
 * so that whoever takes them waits for a sink writing those documents, and the other way round, without deadlocks.
 * A change to one must be made to the others.
 */
export const LOCK_DOCUMENTS = `
  SELECT count(pg_advisory_xact_lock(k))::int AS locked
    FROM (SELECT DISTINCT hashtextextended($1 || ':' || id, 0) AS k
            FROM unnest($2::text[]) AS id ORDER BY k) AS keys`;

/**
 * Locks documents of `collection` until the end of the client's current transaction, as a sink's write of them does
 * ({@link LOCK_DOCUMENTS}).
 */
export async function lockDocuments(client: PoolClient, collection: string, ids: readonly string[]): Promise<void> {
  await preparedRows(client, 'spillway:lock-documents', LOCK_DOCUMENTS, [collection, ids]);
}
