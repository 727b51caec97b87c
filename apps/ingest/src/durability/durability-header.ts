import { type Collection } from '@app/collections';
import { type Durability, DURABILITY_LEVELS, isDurability } from '@app/contracts';
import { IngestException, IngestExceptionCode } from '../ingest.exception';

/** The request header that asks for a level, and the response header that names the level reached. */
export const DURABILITY_HEADER = 'Durability';

/**
 * The level a write asks for: its `Durability` header (case-insensitive), else its collection's `durability:`, else
 * the server's INGEST_DURABILITY. A header that names no level is refused (400) before anything is written.
 */
export function requestedDurability(
  header: string | string[] | undefined,
  collection: Collection,
  serverDefault: Durability,
): Durability {
  if (header === undefined) {
    return collection.durability ?? serverDefault;
  }
  const value = (Array.isArray(header) ? header.join(',') : header).trim().toLowerCase();
  if (!isDurability(value)) {
    throw new IngestException(
      IngestExceptionCode.INVALID_DURABILITY,
      `the Durability header must be one of ${DURABILITY_LEVELS.join(', ')}, not ${JSON.stringify(header)}`,
    );
  }

  return value;
}
