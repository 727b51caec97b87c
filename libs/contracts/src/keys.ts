import calculateSlot from 'cluster-key-slot';

/**
 * Every Redis key Spillway uses is built here, so ingest and sink cannot disagree on a name.
 *
 * All keys of one stream partition share the hash tag `{<collection>.<partition>}`, so a Lua
 * script that touches a document and its stream stays inside one Redis Cluster slot.
 */
export const KEY_PREFIX = 'spw';

/** Partitions of a collection whose file and SPILLWAY_PARTITIONS say nothing. */
export const DEFAULT_PARTITIONS = 1;

/** The most partitions a collection may have: each is a stream, a consumer loop and a lease. */
export const MAX_PARTITIONS = 1024;

/** A collection as far as its keys go: its name and how many partition streams it has. */
export interface PartitionedCollection {
  readonly name: string;
  readonly partitions: number;
}

/**
 * How long a deleted document's hash stays in Redis after the sink has written the delete. Longer than any
 * write can take between reading PostgreSQL's version floor and using it (writeDocuments refuses floors older
 * than 10 s), so a floor that predates the delete is never used once the hash is gone.
 */
export const TOMBSTONE_LINGER_S = 300;

/**
 * The partition of a document or event id: Redis Cluster's CRC16 of the id, modulo the partition count. Stable across
 * processes and versions, so every change of one id lands in one stream, in order.
 */
export function partitionOf(id: string, partitions: number): number {
  return partitions === 1 ? 0 : calculateSlot(id) % partitions;
}

function slotTag(collection: string, partition: number): string {
  return `{${collection}.${partition}}`;
}

export interface PartitionKeys {
  /** The partition's number, 0 to partitions - 1. */
  readonly partition: number;
  /** The change stream of this partition. */
  readonly stream: string;
  /** Entries the sink gave up on, with the reason. */
  readonly deadLetters: string;
  /** A random token the sink stores once; when it is gone or changed, Redis has lost the partition's data. */
  readonly epoch: string;
  /**
   * A counter the sink increments right before it waits for the partition's replicas: a write of its own, so that the
   * WAIT after it covers every entry read before it (Redis 7.2 and later move a client's WAIT offset only on writes).
   */
  readonly replicationMark: string;
  /**
   * Who reads this partition for a consumer group: a sorted set of consumer names scored by when each one's lease
   * lapses (Redis server time, ms), renewed by its holder; one name unless there are more sinks than partitions.
   */
  lease(group: string): string;
  /** Hash of one document: version, body, timestamps, deleted flag. */
  document(id: string): string;
  /**
   * The Pub/Sub channel (not a key) a sink of the default connection publishes its commit notices on, one message per
   * committed batch (durability.ts `encodeCommitNotice`); ingest's `persisted` writes wait for them.
   */
  readonly commits: string;
}

/** Built once per partition: ingest asks for the keys of every write. */
const keysOfPartitions = new Map<string, PartitionKeys>();

export function partitionKeys(collection: string, partition = 0): PartitionKeys {
  const tag = slotTag(collection, partition);
  let keys = keysOfPartitions.get(tag);
  if (!keys) {
    const base = `${KEY_PREFIX}:${tag}`;
    keys = {
      partition,
      stream: `${base}:stream`,
      deadLetters: `${base}:dlq`,
      epoch: `${base}:epoch`,
      replicationMark: `${base}:replicated`,
      lease: (group) => `${base}:lease:${group}`,
      document: (id) => `${base}:doc:${id}`,
      commits: `${base}:commits`,
    };
    keysOfPartitions.set(tag, keys);
  }

  return keys;
}

/** The keys that hold a document, routed to its partition. */
export function documentKeys(collection: PartitionedCollection, id: string): { document: string; stream: string } {
  const keys = partitionKeys(collection.name, partitionOf(id, collection.partitions));

  return { document: keys.document(id), stream: keys.stream };
}

/** Every partition of a collection, for the sink and the stream gauges. */
export function allPartitions(collection: PartitionedCollection): PartitionKeys[] {
  return Array.from({ length: collection.partitions }, (_, p) => partitionKeys(collection.name, p));
}

/** A collection by name and optional `partitions:` (as a file says it), with the partition count it then has. */
export function partitioned(collection: { name: string; partitions?: number }): PartitionedCollection {
  return { name: collection.name, partitions: collection.partitions ?? DEFAULT_PARTITIONS };
}

/**
 * The partition count a collection's keys were written with (a plain string key, outside every partition's slot):
 * a process started with another count must not route ids elsewhere while entries wait (see partition-count.ts).
 */
export function partitionCountKey(collection: string): string {
  return `${KEY_PREFIX}:${collection}:partitions`;
}

/**
 * The live sinks of a consumer group (a plain key, outside every partition's slot): a sorted set of consumer names
 * scored by when each one's heartbeat lapses (Redis server time, ms). Its size is the replica count that the partition
 * leases are shared out by.
 */
export function groupMembersKey(group: string): string {
  return `${KEY_PREFIX}:group:${group}:members`;
}

/**
 * The rate-limit state of one client of ingest (`key<n>` for an API key, `addr:<address>` without one): the client's
 * own hash tag, so that its limit is one slot's key on a Redis Cluster and clients spread over the slots. The tag
 * starts with `rate:`, which no collection name can (no `:`), so it is never a partition's tag.
 */
export function rateLimitKey(client: string): string {
  return `${KEY_PREFIX}:{rate:${client}}:limit`;
}
