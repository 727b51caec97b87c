// The row-bound end-to-end runs (npm run bench -- --rows): a bounded number of first writes (events, or document puts
// of new ids, plain or typed) sent to ingest in `_bulk` requests of 500 by a few closed-loop clients while 1, 2 or 4
// sinks drain, timed from the first request until every entry is acked (the sink acks after the commit), then every
// table of the collection counted. Ingest and the sinks share the cores, as they would on one small machine.
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppProcess, Stack } from '../../tools/local-stack';
import type { BenchDatabase } from './bench-database';
import { type CpuBreakdown, cpuSince, cpuSnapshot } from './cpu';
import { diffHistograms, histogram, type Sample, scrape } from './prom';
import { removeDocumentHashes, type RowsCollection, type RowsKind } from './rows-data';
import { type StackRss, stackRss } from './rows-processes';
import { msSince, round } from './stats';

export interface RowsE2eOptions {
  stack: Stack;
  database: BenchDatabase;
  collection: RowsCollection;
  items: number;
  /**
   * The rows one item lands in all the collection's tables, for each payload in turn (a typed document: its state row
   * and its outputs' rows); one each when not given.
   */
  rowsPerPayload?: readonly number[];
  warmUpItems: number;
  itemsPerRequest: number;
  clients: number;
  replicas: number;
  timeoutMs: number;
  say: (line: string) => void;
}

export interface RowsE2e {
  kind: RowsKind;
  collection: string;
  items: number;
  itemsPerRequest: number;
  clients: number;
  replicas: number;
  accepted: number;
  failedItems: number;
  failedRequests: number;
  /** first request to last answer */
  acceptMs: number;
  acceptedPerSec: number | null;
  /** first request to the last entry acked */
  landMs: number;
  /** every table of the collection, the state table first, counted after the run */
  tables: { table: string; rows: number }[];
  /** the rows the items make in all the tables together */
  rowsExpected: number;
  rowsLanded: number;
  rowsPerSec: number | null;
  everyRowLanded: boolean;
  timedOut: boolean;
  /** changes a sink write held, on average (the sinks' spillway_sink_batch_size over the timed run) */
  meanBatchSize: number | null;
  cpu: CpuBreakdown;
  /** CPU seconds a million rows: ingest, the sinks together, Redis, the database */
  cpuPerMillionRows: { ingest: number | null; sinks: number | null; redis: number | null; database: number | null };
  rss: StackRss;
}

/** The request bodies: `_bulk` of `perRequest` items with ids `<prefix>0000000` …, as JSON text. */
function bulkBodies(collection: RowsCollection, prefix: string, items: number, perRequest: number): string[] {
  const bodies: string[] = [];
  for (let first = 0; first < items; first += perRequest) {
    const parts: string[] = [];
    for (let i = first; i < Math.min(items, first + perRequest); i++) {
      const id = `${prefix}${String(i).padStart(7, '0')}`;
      const payload = collection.payloads[i % collection.payloads.length] as string;
      parts.push(
        collection.kind === 'events'
          ? `{"id":${JSON.stringify(id)},${payload.slice(1)}`
          : `{"op":"put","id":${JSON.stringify(id)},"doc":${payload}}`,
      );
    }
    bodies.push(collection.kind === 'events' ? `{"events":[${parts.join(',')}]}` : `{"ops":[${parts.join(',')}]}`);
  }

  return bodies;
}

interface Sent {
  accepted: number;
  failedItems: number;
  failedRequests: number;
}

/** Sends every body once from `clients` closed loops. */
async function sendAll(url: string, bodies: string[], clients: number): Promise<Sent> {
  const sent: Sent = { accepted: 0, failedItems: 0, failedRequests: 0 };
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++] as string;
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).catch(
          () => undefined,
        );
        if (!res || res.status !== 200) {
          await res?.arrayBuffer();
          sent.failedRequests += 1;
          continue;
        }
        const { results } = (await res.json()) as { results: { error?: unknown }[] };
        for (const r of results) {
          if (r.error === undefined) sent.accepted += 1;
          else sent.failedItems += 1;
        }
      }
    }),
  );

  return sent;
}

/** Waits until the collection's stream has no unacked entry; false on timeout. */
async function waitAcked(stack: Stack, collection: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await stack.backlog())[collection] === 0) return true;
    await sleep(50);
  }

  return false;
}

/** Rows `items` items make when item i carries payload i mod the pool's size (see {@link bulkBodies}). */
function expectedRows(items: number, rowsPerPayload: readonly number[] | undefined): number {
  if (rowsPerPayload === undefined) return items;
  let rows = 0;
  for (let i = 0; i < items; i++) rows += rowsPerPayload[i % rowsPerPayload.length] as number;

  return rows;
}

const perMillion = (seconds: number, rows: number): number | null =>
  rows > 0 ? round((seconds / rows) * 1e6, 1) : null;

/** One end-to-end run: warm-up, truncation, then the timed load until every entry is acked. */
export async function rowsE2e(o: RowsE2eOptions): Promise<RowsE2e> {
  const { stack, collection } = o;
  const url = `${stack.ingestApp.url}/v1/${collection.name}/_bulk`;
  const sinks: AppProcess[] = [];
  for (let i = 0; i < o.replicas; i++) sinks.push(await stack.addSink());
  await Promise.all(sinks.map((s) => s.waitUntilReady()));
  try {
    const prefix = `${collection.kind[0]}e${o.replicas}-`; // ids of this run's own: an event id is appended only once
    await sendAll(url, bulkBodies(collection, `${prefix}w-`, o.warmUpItems, o.itemsPerRequest), o.clients);
    await waitAcked(stack, collection.name, o.timeoutMs);
    await o.database.truncate(collection.target.tables);
    const bodies = bulkBodies(collection, prefix, o.items, o.itemsPerRequest);
    await sleep(1000);
    const metricsBefore = await scrape(sinks);
    const cpuBefore = cpuSnapshot(stack, sinks);
    const start = process.hrtime.bigint();
    const sent = await sendAll(url, bodies, o.clients);
    const acceptMs = msSince(start);
    const acked = await waitAcked(stack, collection.name, o.timeoutMs);
    const landMs = msSince(start);
    const cpuAfter = cpuSnapshot(stack, sinks);
    const cpu = cpuSince(cpuBefore, cpuAfter);
    const batchSizes = (samples: Sample[]) => histogram(samples, 'spillway_sink_batch_size');
    const batches = diffHistograms(batchSizes(await scrape(sinks)), batchSizes(metricsBefore));
    const used = (part: 'ingest' | 'sinks' | 'redis' | 'database'): number => cpuAfter[part] - cpuBefore[part];
    const tables: RowsE2e['tables'] = [];
    for (const table of collection.target.tables) tables.push({ table, rows: await o.database.countRows(table) });
    const rowsLanded = tables.reduce((n, t) => n + t.rows, 0);
    const rowsExpected = expectedRows(o.items, o.rowsPerPayload);
    const rss = stackRss(
      stack,
      sinks.map((s) => s.rssBytes() ?? null),
    );
    const run: RowsE2e = {
      kind: collection.kind,
      collection: collection.name,
      items: o.items,
      itemsPerRequest: o.itemsPerRequest,
      clients: o.clients,
      replicas: o.replicas,
      ...sent,
      acceptMs: Math.round(acceptMs),
      acceptedPerSec: round((sent.accepted / acceptMs) * 1000),
      landMs: Math.round(landMs),
      tables,
      rowsExpected,
      rowsLanded,
      rowsPerSec: round((rowsLanded / landMs) * 1000),
      everyRowLanded: rowsLanded === rowsExpected && sent.accepted === o.items,
      timedOut: !acked,
      meanBatchSize: batches.count ? round(batches.sum / batches.count, 1) : null,
      cpu,
      cpuPerMillionRows: {
        ingest: perMillion(used('ingest'), rowsLanded),
        sinks: perMillion(used('sinks'), rowsLanded),
        redis: perMillion(used('redis'), rowsLanded),
        database: perMillion(used('database'), rowsLanded),
      },
      rss,
    };
    o.say(
      `e2e ${collection.kind} in _bulk of ${o.itemsPerRequest}, ${o.clients} clients, ${o.replicas} sinks: ` +
        `${run.acceptedPerSec} accepted/s, ${run.rowsPerSec} rows landed/s (${rowsLanded} of ${rowsExpected} rows ` +
        `in ${run.landMs} ms${acked ? '' : ', timed out'}; batches of ${run.meanBatchSize} on average); cpu s: ` +
        `ingest ${cpu.ingestS}, sinks ${cpu.sinksS}, redis ${cpu.redisS}, ${o.database.kind} ${cpu.databaseS}, ` +
        `bench ${cpu.benchS}, steal ${cpu.stealS}`,
    );

    return run;
  } finally {
    for (const s of sinks) await stack.removeSink(s);
    await removeDocumentHashes(stack.redisClient, collection.target.keys);
  }
}
