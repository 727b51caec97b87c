/**
 * How far a write has gone when its answer comes (issue 19): `memory` (the primary's memory, its AOF within a second),
 * `replicated` (WAIT: INGEST_WAIT_REPLICAS replicas hold it), `aof` (WAITAOF: the primary fsynced it to its AOF) or
 * `persisted` (a sink committed that version, or a newer one, to the default connection's database).
 */
export const DURABILITY_LEVELS = ['memory', 'replicated', 'aof', 'persisted'] as const;

export type Durability = (typeof DURABILITY_LEVELS)[number];

/** The level a server uses when neither the request nor the collection names one. */
export const DEFAULT_DURABILITY: Durability = 'memory';

export function isDurability(value: unknown): value is Durability {
  return typeof value === 'string' && (DURABILITY_LEVELS as readonly string[]).includes(value);
}

/** One document or event version a sink committed. */
export interface CommittedVersion {
  id: string;
  version: number;
}

/**
 * The message a sink publishes on a partition's commit channel (`PartitionKeys.commits`) after a batch is committed and
 * acked: the (id, version) pairs the database now holds at that version or newer, as `[[id, version], …]`.
 */
export function encodeCommitNotice(committed: readonly CommittedVersion[]): string {
  return JSON.stringify(committed.map(({ id, version }) => [id, version]));
}

/** The pairs of a commit notice; an empty list for a message that is not one. */
export function decodeCommitNotice(message: string): CommittedVersion[] {
  let pairs: unknown;
  try {
    pairs = JSON.parse(message);
  } catch {
    return [];
  }
  if (!Array.isArray(pairs)) {
    return [];
  }

  return pairs.flatMap((pair: unknown) =>
    Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'number'
      ? [{ id: pair[0], version: pair[1] }]
      : [],
  );
}
