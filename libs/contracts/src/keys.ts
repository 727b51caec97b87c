/**
 * Every Redis key Spillway uses is built here, so ingest and sink cannot disagree on a name.
 *
 * All keys of one stream partition share the hash tag `{<collection>.<partition>}`, so a Lua
 * script that touches a document and its stream stays inside one Redis Cluster slot.
 */
export const KEY_PREFIX = 'spw';

/** Partitions per collection. One today; ids are routed by {@link partitionOf} so more can follow. */
export const PARTITIONS_PER_COLLECTION = 1;

/**
 * How long a deleted document's hash stays in Redis after the sink has written the delete. Longer than any
 * write can take between reading PostgreSQL's version floor and using it (writeDocuments refuses floors older
 * than 10 s), so a floor that predates the delete is never used once the hash is gone.
 */
export const TOMBSTONE_LINGER_S = 300;

export function partitionOf(_id: string): number {
  return 0;
}

function slotTag(collection: string, partition: number): string {
  return `{${collection}.${partition}}`;
}

export interface PartitionKeys {
  /** The change stream of this partition. */
  readonly stream: string;
  /** Entries the sink gave up on, with the reason. */
  readonly deadLetters: string;
  /** A random token the sink stores once; when it is gone or changed, Redis has lost the partition's data. */
  readonly epoch: string;
  /** Hash of one document: version, body, timestamps, deleted flag. */
  document(id: string): string;
}

/** Built once per partition: ingest asks for the keys of every write. */
const keysOfPartitions = new Map<string, PartitionKeys>();

export function partitionKeys(collection: string, partition = 0): PartitionKeys {
  const tag = slotTag(collection, partition);
  let keys = keysOfPartitions.get(tag);
  if (!keys) {
    const base = `${KEY_PREFIX}:${tag}`;
    keys = {
      stream: `${base}:stream`,
      deadLetters: `${base}:dlq`,
      epoch: `${base}:epoch`,
      document: (id) => `${base}:doc:${id}`,
    };
    keysOfPartitions.set(tag, keys);
  }

  return keys;
}

/** The keys that hold a document, routed to its partition. */
export function documentKeys(collection: string, id: string): { document: string; stream: string } {
  const keys = partitionKeys(collection, partitionOf(id));

  return { document: keys.document(id), stream: keys.stream };
}

/** Every partition of a collection, for the sink and the stream gauges. */
export function allPartitions(collection: string): PartitionKeys[] {
  return Array.from({ length: PARTITIONS_PER_COLLECTION }, (_, p) => partitionKeys(collection, p));
}
