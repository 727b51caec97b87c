// The row-bound bench's data (npm run bench -- --rows): its three collections, where every entry becomes a row (an
// event collection, a plain document collection, and a typed one with a child table), their unique ids, their
// payloads, and the backlogs of first writes written through the real Lua scripts, as ingest writes them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { parse as parseYaml } from 'yaml';
import { type Collection, loadCollections, type OutputRow } from '@app/collections';
import { type PartitionKeys, partitionKeys } from '@app/contracts';
import { appendEventsArgs, forEachKeyWithPrefix } from '@app/redis';
import { type CollectionSpec, ROOT, type Stack } from '../../tools/local-stack';
import { benchCollections } from './run';
import { MAPPED_COLLECTION, mappedTarget } from './mapped-phase';
import { type BacklogMix, COLLECTION, writeArgs } from './redis-writes';
import type { RowsBatch } from './rows-raw';
import { type DrainTarget, PLAIN } from './sink-phase';
import { makeDocuments, seededRandom, withId, withScreens } from './workload';

/** What a row-bound collection holds: events (appended once), plain documents, or typed documents with outputs. */
export type RowsKind = 'events' | 'documents' | 'typed';

/** The event collection, config/collections/clicks.yaml as shipped. */
export const EVENTS_COLLECTION = 'clicks';

/** One collection of the row-bound bench. */
export interface RowsCollection {
  kind: RowsKind;
  name: string;
  target: DrainTarget;
  /** payloads without "id", used in turn */
  payloads: string[];
}

/** The collection files of the stack: clicks.yaml, and sessions.yaml plain and typed (as the main bench has them). */
export function rowsCollectionSpecs(): { specs: CollectionSpec[]; outputTables: string[] } {
  const clicks = parseYaml(readFileSync(join(ROOT, 'config', 'collections', 'clicks.yaml'), 'utf8')) as {
    schema?: object;
    [member: string]: unknown;
  };
  const { name: _name, kind: _kind, schema, ...rest } = clicks;
  const { plain, mapped, outputTables } = benchCollections();

  return {
    specs: [{ name: EVENTS_COLLECTION, kind: 'event', schema, extra: rest }, plain, mapped],
    outputTables,
  };
}

const SCREENS = ['home', 'accounts', 'transfer/confirm', 'cards/limits', 'statements', 'settings/security'] as const;
const DEVICES = ['ios', 'android', 'web'] as const;

/** Click events that satisfy clicks.yaml, about 200 bytes of JSON each (without "id"). */
export function makeEvents(random: () => number, count: number): string[] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;

  return Array.from({ length: count }, () =>
    JSON.stringify({
      sessionId: `s-${String(Math.floor(random() * 1e7)).padStart(7, '0')}`,
      screen: pick(SCREENS),
      at: new Date(Date.UTC(2026, 10, 1) + Math.floor(random() * 30 * 86_400_000)).toISOString(),
      userId: `u-${Math.floor(random() * 1_000_000)}`,
      device: pick(DEVICES),
      appVersion: `7.${Math.floor(random() * 20)}.${Math.floor(random() * 10)}`,
      element: `button-${Math.floor(random() * 500)}`,
      durationMs: Math.floor(random() * 20_000),
    }),
  );
}

/** The three collections with their payload pools (2000 each, from the run's seed). */
export function rowsCollections(seed: number, outputTables: string[]): RowsCollection[] {
  const docs = makeDocuments(seededRandom(seed), 2000);
  const typed = mappedTarget(outputTables);

  return [
    {
      kind: 'events',
      name: EVENTS_COLLECTION,
      target: { keys: partitionKeys(EVENTS_COLLECTION), tables: [EVENTS_COLLECTION] },
      payloads: makeEvents(seededRandom(seed + 41), 2000),
    },
    { kind: 'documents', name: COLLECTION, target: PLAIN, payloads: docs },
    { kind: 'typed', name: MAPPED_COLLECTION, target: typed, payloads: withScreens(seededRandom(seed + 29), docs) },
  ];
}

/** The typed collection as the stack's apps load it (from its collection files), with its projector. */
export function typedCollection(stack: Pick<Stack, 'collectionsDir'>): Collection {
  const typed = loadCollections(stack.collectionsDir).find((c) => c.name === MAPPED_COLLECTION);
  if (typed === undefined) throw new Error(`the stack has no collection ${MAPPED_COLLECTION}`);

  return typed;
}

/** A batch of the typed collection projected: each output's rows, in the order of its outputs, and the rows in all. */
export interface TypedRows {
  outputs: OutputRow[][];
  /** the state table's (one a document) and every output's */
  rows: number;
}

/** Projects a typed batch with the collection's own projector, as the sink does; every document must make rows. */
export function typedRows(collection: Collection, { ids, docs }: RowsBatch): TypedRows {
  const { projector } = collection;
  if (projector === undefined) throw new Error(`raw typed: collection ${collection.name} has no outputs`);
  const outputs = collection.outputs.map((): OutputRow[] => []);
  docs.forEach((doc, i) => {
    const projection = projector.project(JSON.parse(doc));
    if (projection.kind !== 'rows') throw new Error(`raw typed: document ${ids[i]} projects to ${projection.kind}`);
    projection.rows.forEach((rows, o) => outputs[o]?.push(...rows));
  });

  return { outputs, rows: ids.length + outputs.reduce((n, rows) => n + rows.length, 0) };
}

/** One query's text counting the rows of all `tables` together (as `n`): the typed collection's tables. */
export const countAllSql = (tables: readonly string[]): string =>
  `SELECT ${tables.map((table) => `(SELECT count(*) FROM ${table})`).join(' + ')} AS n`;

/** Removes every document (or event) hash of the collection from Redis: a run's ids must not meet the next run's. */
export async function removeDocumentHashes(redis: Redis, keys: PartitionKeys): Promise<void> {
  await forEachKeyWithPrefix(redis, keys.document(''), async (found) => void (await redis.unlink(...found)));
}

/** `count` unique ids: `<prefix>0000000` … */
export const uniqueIds = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(7, '0')}`);

/** Items a script call carries and calls in flight while a backlog is written. */
const ITEMS_A_CALL = 100;
const CALLS_A_PIPELINE = 20;
const PIPELINES_IN_FLIGHT = 3;

/**
 * Writes one first write per id into the collection's stream: `appendEvents` for events, `writeDocuments` puts (the
 * floor "the database holds nothing", as ingest learns it for a new id) for documents; 100 items a call, as `_bulk`
 * sends them. Every id appends one entry.
 */
export async function fillFirstWrites(
  redis: Redis,
  keys: PartitionKeys,
  kind: RowsKind,
  ids: string[],
  payloads: string[],
): Promise<BacklogMix> {
  const mix: BacklogMix = { put: 0, patch: 0, delete: 0, refused: 0 };
  let next = 0;
  const call = (pipeline: ReturnType<Redis['pipeline']>): boolean => {
    if (next >= ids.length) return false;
    const chunk = ids.slice(next, next + ITEMS_A_CALL);
    const first = next;
    next += chunk.length;
    const now = Date.now();
    if (kind === 'events') {
      const events = chunk.map((id, i) => ({
        eventKey: keys.document(id),
        id,
        doc: withId(id, payloads[(first + i) % payloads.length] as string),
      }));
      pipeline.appendEvents(...appendEventsArgs(keys.stream, now, 0, events));
    } else {
      const changes = chunk.map((id, i) => ({
        op: 'put' as const,
        id,
        json: payloads[(first + i) % payloads.length] as string,
      }));
      pipeline.writeDocuments(...writeArgs(changes, now, keys));
    }

    return true;
  };
  const worker = async (): Promise<void> => {
    for (;;) {
      const pipeline = redis.pipeline();
      let calls = 0;
      while (calls < CALLS_A_PIPELINE && call(pipeline)) calls++;
      if (calls === 0) return;
      for (const [error, results] of (await pipeline.exec()) ?? []) {
        if (error) throw error;
        for (const r of results as number[]) {
          if (r > 0) mix.put += 1;
          else mix.refused += 1;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: PIPELINES_IN_FLIGHT }, worker));

  return mix;
}
