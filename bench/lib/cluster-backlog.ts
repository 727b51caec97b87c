// Backlogs of a partitioned collection, on one server or a Redis Cluster: written once through the writeDocuments
// Lua (each change to its id's partition, as ingest routes it), kept as a template stream per partition with the
// consumer group created at 0, and copied over the live streams for each drain. Every key a template uses carries
// its partition's hash tag, so each COPY stays in one cluster slot. The document hashes are kept beside the template
// too (the sink skips an entry whose document Redis holds at a newer version, so each drain must start from the hashes
// that go with its backlog); see sink-phase.ts for the same on one stream.
import {
  allPartitions,
  DEFAULT_SINK_GROUP,
  type PartitionedCollection,
  type PartitionKeys,
  partitionKeys,
  partitionOf,
} from '@app/contracts';
import { forEachKeyWithPrefix, type RedisClient, readStreamBacklog } from '@app/redis';
import { type BacklogMix, backlogChanges, pipelined, seedDocuments, type WriteCall, writeArgs } from './redis-writes';
import { msSince, round } from './stats';
import { idPicker, seededRandom } from './workload';

/** A template's stream: the partition's hash tag, so it lives in the partition's slot. */
const templateStream = (keys: PartitionKeys, name: string): string => `${keys.stream}:bench-template-${name}`;

/** Where a template keeps its copy of the partition's document hashes: `spw:{c.p}:bench-doc-<name>:<id>`. */
const documentCopyPrefix = (keys: PartitionKeys, name: string): string =>
  keys.document('').replace(/doc:$/, `bench-doc-${name}:`);

/** The partitions of a collection, each with the ids that route to it (ingest's partitionOf). */
export function idsByPartition(collection: PartitionedCollection, ids: string[]): Map<PartitionKeys, string[]> {
  const groups = new Map(allPartitions(collection).map((keys) => [keys, [] as string[]]));
  const partitions = [...groups.keys()];
  for (const id of ids) groups.get(partitions[partitionOf(id, collection.partitions)] as PartitionKeys)?.push(id);

  return groups;
}

/** Writes every id once (a put) into its partition, all partitions at once. */
export async function seedPartitioned(
  redis: RedisClient,
  collection: PartitionedCollection,
  ids: string[],
  docs: string[],
): Promise<void> {
  await Promise.all(
    [...idsByPartition(collection, ids)].map(([keys, partitionIds]) => seedDocuments(redis, partitionIds, docs, keys)),
  );
}

/** Deletes the live streams of every partition. */
export async function deleteStreams(redis: RedisClient, collection: PartitionedCollection): Promise<void> {
  await Promise.all(allPartitions(collection).map((keys) => redis.del(keys.stream)));
}

export interface PartitionedTemplate {
  name: string;
  collection: PartitionedCollection;
  entries: number;
  /** entries of each partition */
  perPartition: number[];
  mix: BacklogMix;
  fillMs: number;
  fillRatePerSec: number | null;
}

export interface TemplateOptions {
  name: string;
  collection: PartitionedCollection;
  entries: number;
  ids: string[];
  docs: string[];
  seed: number;
  /** the ids' common prefix, so that only their hashes are kept (a warm-up's ids) */
  idPrefix?: string;
}

/**
 * Writes a backlog of `entries` changes (the mix of sink-phase's backlogs: puts, patches, deletes) into the
 * collection's partitions, every partition's pipelines at once, then keeps each partition's stream, with the group
 * created at 0, and its document hashes as the template `name`.
 */
export async function buildPartitionedTemplate(redis: RedisClient, o: TemplateOptions): Promise<PartitionedTemplate> {
  const partitions = allPartitions(o.collection);
  await deleteStreams(redis, o.collection);
  const random = seededRandom(o.seed);
  const changes = backlogChanges({ pick: idPicker(random, o.ids), docs: o.docs, random });
  const calls: WriteCall[][] = partitions.map(() => []);
  let now = Date.now();
  for (let i = 0; i < o.entries; i++) {
    if ((i & 1023) === 0) now = Date.now();
    const change = changes.next();
    const partition = partitionOf(change.id, o.collection.partitions);
    calls[partition]?.push(writeArgs([change], now, partitionKeys(o.collection.name, partition)));
  }
  const start = process.hrtime.bigint();
  await Promise.all(
    partitions.map((keys) => {
      const own = calls[keys.partition] ?? [];
      let next = 0;

      return pipelined(redis, () => own[next++], {
        batchSize: 2000,
        inFlight: 2,
        onResults: (_, results) => {
          for (const r of results) if (r <= 0) changes.counts.refused += 1;
        },
      });
    }),
  );
  const ms = msSince(start);
  const perPartition: number[] = [];
  for (const keys of partitions) {
    await redis.xgroup('CREATE', keys.stream, DEFAULT_SINK_GROUP, '0', 'MKSTREAM');
    perPartition.push(await redis.xlen(keys.stream));
    await redis.rename(keys.stream, templateStream(keys, o.name));
    const prefix = keys.document('');
    const copyPrefix = documentCopyPrefix(keys, o.name);
    await forEachKeyWithPrefix(redis, prefix + (o.idPrefix ?? ''), async (found) => {
      const pipeline = redis.pipeline();
      for (const key of found) pipeline.call('COPY', key, copyPrefix + key.slice(prefix.length), 'REPLACE');
      await pipeline.exec();
    });
  }
  const entries = perPartition.reduce((a, b) => a + b, 0);

  return {
    name: o.name,
    collection: o.collection,
    entries,
    perPartition,
    mix: changes.counts,
    fillMs: Math.round(ms),
    fillRatePerSec: round((entries / ms) * 1000),
  };
}

/** Puts back the document hashes of templates, and only those, in every partition of the collection. */
export async function restoreDocuments(
  redis: RedisClient,
  collection: PartitionedCollection,
  names: string[],
): Promise<void> {
  for (const keys of allPartitions(collection)) {
    const prefix = keys.document('');
    await forEachKeyWithPrefix(redis, prefix, async (found) => void (await redis.unlink(...found)));
    for (const name of names) {
      const copyPrefix = documentCopyPrefix(keys, name);
      await forEachKeyWithPrefix(redis, copyPrefix, async (found) => {
        const pipeline = redis.pipeline();
        for (const key of found) pipeline.call('COPY', key, prefix + key.slice(copyPrefix.length), 'REPLACE');
        await pipeline.exec();
      });
    }
  }
}

/** Copies a template over the live streams, every partition at once; the backlog is in place once this resolves. */
export async function fillFromTemplate(redis: RedisClient, template: PartitionedTemplate): Promise<void> {
  await Promise.all(
    allPartitions(template.collection).map((keys) =>
      redis.call('COPY', templateStream(keys, template.name), keys.stream, 'REPLACE'),
    ),
  );
}

/** Entries the group has not acked yet (undelivered plus pending), summed over the partitions. */
export async function unackedEntries(redis: RedisClient, collection: PartitionedCollection): Promise<number> {
  const backlogs = await Promise.all(allPartitions(collection).map((keys) => readStreamBacklog(redis, keys.stream)));

  return backlogs.reduce((n, b) => n + b.backlog, 0);
}

/** Removes a template's streams and document copies (the live streams with them). */
export async function dropPartitionedTemplate(redis: RedisClient, template: PartitionedTemplate): Promise<void> {
  for (const keys of allPartitions(template.collection)) {
    await redis.del(templateStream(keys, template.name), keys.stream);
    await forEachKeyWithPrefix(
      redis,
      documentCopyPrefix(keys, template.name),
      async (found) => void (await redis.unlink(...found)),
    );
  }
}
