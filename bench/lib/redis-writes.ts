// The ways the bench calls the writeDocuments script, with the script and its argument layout from @app/redis (as
// ingest calls it): one document a call with many calls in flight, pipelines of such calls, many documents a call,
// and big pipelines to pre-fill a backlog.
import { type PartitionKeys, partitionKeys } from '@app/contracts';
import { type RedisClient, type ScriptChange, versionFloorArg, writeDocumentsArgs } from '@app/redis';
import { withId } from './workload';

/** The collection every phase writes (config/collections/sessions.yaml). */
export const COLLECTION = 'sessions';
export const KEYS = partitionKeys(COLLECTION);

/** The arguments of one writeDocuments call: the key count, the keys, then the arguments. */
export type WriteCall = (string | number)[];

/** One change the bench writes; `json` is the document without "id", '' for a delete. */
export interface BenchChange {
  op: 'put' | 'del';
  id: string;
  json: string;
}

/**
 * The version floor of "PostgreSQL holds nothing": the script uses it only when Redis has no hash for the id, so no
 * call needs a PostgreSQL read.
 */
export const emptyFloor = (nowMs: number): string => versionFloorArg({ version: 0, live: false, readAtMs: nowMs });

/** A change with no expected version, as the bench writes them; `doc` is the whole document, '' for a delete. */
function scriptChange(
  op: BenchChange['op'],
  id: string,
  doc: string,
  floor: string,
  keys: PartitionKeys = KEYS,
): ScriptChange {
  return { documentKey: keys.document(id), op, id, doc, expectedVersion: '', floor, createOnly: '0' };
}

/**
 * Arguments of one writeDocuments call, as DocumentStore lays them out (no TTL), every change with the empty floor,
 * into the collection of `keys` (default `sessions`).
 */
export function writeArgs(changes: BenchChange[], nowMs: number, keys: PartitionKeys = KEYS): WriteCall {
  const scriptChanges = changes.map(({ op, id, json }) =>
    scriptChange(op, id, op === 'put' ? withId(id, json) : '', emptyFloor(nowMs), keys),
  );

  return writeDocumentsArgs(keys.stream, nowMs, 0, scriptChanges);
}

/** Arguments of a writeDocuments call of one put of a whole document (with its "id"), with the given floor. */
export function putArgs(id: string, doc: string, nowMs: number, floor: string): WriteCall {
  return writeDocumentsArgs(KEYS.stream, nowMs, 0, [scriptChange('put', id, doc, floor)]);
}

/** One call; per change its result. The connection must have the scripts defined (defineSpillwayScripts). */
export const callWrite = (redis: RedisClient, args: WriteCall): Promise<number[]> => redis.writeDocuments(...args);

/** The results of every change of every call, in order. */
export async function pipelineWrites(redis: RedisClient, calls: WriteCall[]): Promise<number[]> {
  const pipeline = redis.pipeline();
  for (const args of calls) pipeline.writeDocuments(...args);
  const replies = (await pipeline.exec()) ?? [];

  return replies.flatMap(([error, results]) => {
    if (error) throw error;

    return results as number[];
  });
}

interface PipelinedOptions {
  batchSize: number;
  inFlight: number;
  onResults?: (calls: WriteCall[], results: number[]) => void;
}

/**
 * Runs `makeCall` as a stream of pipelines of `batchSize`, `inFlight` at a time, until it returns undefined. On a Redis
 * Cluster client every call of a pipeline must be of one slot: one partition's.
 */
export async function pipelined(
  redis: RedisClient,
  makeCall: () => WriteCall | undefined,
  { batchSize, inFlight, onResults }: PipelinedOptions,
): Promise<void> {
  let done = false;
  const worker = async (): Promise<void> => {
    while (!done) {
      const calls: WriteCall[] = [];
      while (calls.length < batchSize) {
        const call = makeCall();
        if (call === undefined) {
          done = true;
          break;
        }
        calls.push(call);
      }
      if (calls.length === 0) return;
      const results = await pipelineWrites(redis, calls);
      onResults?.(calls, results);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/**
 * Writes every id once (a put) into the collection of `keys` (default `sessions`), so that later writes find a hash
 * and never need PostgreSQL's version floor.
 */
export async function seedDocuments(
  redis: RedisClient,
  ids: string[],
  docs: string[],
  keys: PartitionKeys = KEYS,
): Promise<void> {
  let next = 0;
  await pipelined(
    redis,
    () => {
      if (next >= ids.length) return undefined;
      const id = ids[next] as string;
      const json = docs[next++ % docs.length] as string;

      return writeArgs([{ op: 'put', id, json }], Date.now(), keys);
    },
    { batchSize: 1000, inFlight: 4 },
  );
}

/** What fillBacklog wrote. */
export interface BacklogMix {
  put: number;
  patch: number;
  delete: number;
  refused: number;
}

interface BacklogOptions {
  entries: number;
  pick: () => string;
  docs: string[];
  random: () => number;
  mix?: ChangeMix;
  /** the collection written; default `sessions` */
  keys?: PartitionKeys;
}

/** The shares of a backlog's changes that are patches and deletes (the rest are puts). */
export interface ChangeMix {
  patch: number;
  delete: number;
}

interface BacklogChangeOptions {
  pick: () => string;
  docs: string[];
  random: () => number;
  mix?: ChangeMix;
}

/**
 * The changes of a backlog, one a call: puts, patches (a put of the merged document, as ingest writes a PATCH) and
 * deletes, in the given shares, over the ids `pick` returns; deletes and patches go only to ids that are live, so every
 * change appends an entry. `counts` tells the mix handed out so far.
 */
export function backlogChanges({ pick, docs, random, mix = { patch: 0.2, delete: 0.05 } }: BacklogChangeOptions): {
  next: () => BenchChange;
  counts: BacklogMix;
} {
  const live = new Set<string>();
  const counts: BacklogMix = { put: 0, patch: 0, delete: 0, refused: 0 };
  let issued = 0;
  const next = (): BenchChange => {
    issued += 1;
    const id = pick();
    const roll = random();
    const doc = docs[issued % docs.length] as string;
    if (live.has(id) && roll < mix.delete) {
      live.delete(id);
      counts.delete += 1;

      return { op: 'del', id, json: '' };
    }
    counts[live.has(id) && roll < mix.delete + mix.patch ? 'patch' : 'put'] += 1;
    live.add(id);

    return { op: 'put', id, json: doc };
  };

  return { next, counts };
}

/**
 * Appends `entries` changes to the stream through the Lua script (see backlogChanges). Returns the mix actually
 * written.
 */
export async function fillBacklog(
  redis: RedisClient,
  { entries, pick, docs, random, mix, keys = KEYS }: BacklogOptions,
): Promise<BacklogMix> {
  const changes = backlogChanges({ pick, docs, random, mix });
  let issued = 0;
  let now = Date.now();
  const makeCall = (): WriteCall | undefined => {
    if (issued >= entries) return undefined;
    issued += 1;
    if ((issued & 1023) === 0) now = Date.now();

    return writeArgs([changes.next()], now, keys);
  };
  await pipelined(redis, makeCall, {
    batchSize: 2000,
    inFlight: 3,
    onResults: (_, results) => {
      for (const r of results) if (r <= 0) changes.counts.refused += 1;
    },
  });

  return changes.counts;
}
