// A model of how Spillway's rates grow with Redis masters, ingest cores, sinks and database cores on machines with
// more cores than the bench's, from the CPU each part spent a unit in a measured run (bench/lib/cluster-run.ts).
//
// Each part's ceiling is the cores it has over its cost a unit; a rate is the lowest ceiling of the parts it goes
// through. That is linear growth until a shared resource saturates, on these assumptions:
// - every Redis master, ingest core, sink and database core is a core of its own (a master's replica runs on yet
//   another one), and the network and disks keep up;
// - a unit costs what it cost in the measured run: on 2 shared cores contention may have made it dearer, batching
//   under load cheaper;
// - a collection's partitions spread evenly over the masters, so min(masters, partitions) of them take its writes and
//   serve its reads; more sinks than partitions share partitions through the consumer group (as the leases allow);
// - one sink is one core (Node runs a sink's work on one thread);
// - the database's cores scale its rows a second linearly, which PostgreSQL only approaches (one WAL, locks, fsyncs):
//   read its ceiling as an upper bound. It is the usual ceiling: a backlog drained coalesces to about 0.1 rows an
//   entry, but a pipeline that keeps up writes every entry as a row.

/** The CPU each part spent a unit in a measured run, in µs. */
export interface UnitCosts {
  /** the Redis master's a document written by PUT (one script call a request) */
  redisUsPerPut: number;
  /** the Redis master's a document written by _bulk (a partition's documents in calls of 100) */
  redisUsPerBulkWrite: number;
  /** ingest's a document written by PUT */
  ingestUsPerPut: number;
  /** ingest's a document written by _bulk */
  ingestUsPerBulkWrite: number;
  /** a sink's an entry drained */
  sinkUsPerEntry: number;
  /** the Redis masters' an entry drained (XREADGROUP, XACK, version look-ups, the acks' AOF) */
  redisUsPerDrainedEntry: number;
  /**
   * the database's a row written by the sinks draining a backlog: about 50 rows a batch of 500 entries, so each row
   * carries a tenth of its batch's transaction and function call
   */
  databaseUsPerRow: number;
  /** the database's a row in upserts of 500 rows (the raw ceiling's passes): a row's cost when every entry is one */
  databaseUsPerBatchedRow: number;
  /** rows written an entry drained, in the measured backlogs */
  rowsPerEntry: number;
}

/** What a deployment has. */
export interface Deployment {
  masters: number;
  /** of the collection */
  partitions: number;
  ingestCores: number;
  sinks: number;
  databaseCores: number;
}

export type ModelPart = 'Redis' | 'ingest' | 'sinks' | 'database';

/** A rate and the part whose ceiling it is; `ceilings` has every part's. */
export interface BoundedRate {
  rate: number;
  bound: ModelPart;
  ceilings: Partial<Record<ModelPart, number>>;
}

/** Units a second that `cores` cores do at `us` µs a unit. */
export const unitsPerSecond = (cores: number, us: number): number => (us > 0 ? (cores * 1e6) / us : Infinity);

function lowest(ceilings: Partial<Record<ModelPart, number>>): BoundedRate {
  let best: BoundedRate | undefined;
  for (const [part, rate] of Object.entries(ceilings) as [ModelPart, number][]) {
    if (!best || rate < best.rate) best = { rate, bound: part, ceilings };
  }
  if (!best) throw new Error('no ceiling given');

  return best;
}

/** The masters that take a collection's writes and reads: those its partitions fall on. */
const mastersUsed = (d: Deployment): number => Math.min(d.masters, d.partitions);

/** Documents written a second by PUT (`put`) or _bulk (`bulk`): the masters' ceiling or ingest's. */
export function ingestRate(costs: UnitCosts, d: Deployment, kind: 'put' | 'bulk'): BoundedRate {
  const [redisUs, ingestUs] =
    kind === 'put'
      ? [costs.redisUsPerPut, costs.ingestUsPerPut]
      : [costs.redisUsPerBulkWrite, costs.ingestUsPerBulkWrite];

  return lowest({ Redis: unitsPerSecond(mastersUsed(d), redisUs), ingest: unitsPerSecond(d.ingestCores, ingestUs) });
}

/**
 * How the entries turn into rows: `backlog`, a backlog drained, at the measured rows an entry and µs a row;
 * `rowPerEntry`, every entry written as a row (the sinks keep up, nothing to coalesce) at a batched row's µs.
 */
export type DrainKind = 'backlog' | 'rowPerEntry';

/** Entries drained a second: the sinks', the masters' or the database's ceiling. */
export function drainRate(costs: UnitCosts, d: Deployment, kind: DrainKind = 'backlog'): BoundedRate {
  const databaseUsPerEntry =
    kind === 'backlog' ? costs.databaseUsPerRow * costs.rowsPerEntry : costs.databaseUsPerBatchedRow;

  return lowest({
    sinks: unitsPerSecond(d.sinks, costs.sinkUsPerEntry),
    Redis: unitsPerSecond(mastersUsed(d), costs.redisUsPerDrainedEntry),
    database: unitsPerSecond(d.databaseCores, databaseUsPerEntry),
  });
}

/** The deployments the tables show. */
export interface ModelGrid {
  masters: number[];
  sinks: number[];
  /** a collection's partitions a master */
  partitionsPerMaster: number;
  /** ingest cores a master */
  ingestCoresPerMaster: number;
  databaseCores: number;
}

export const DEFAULT_GRID: ModelGrid = {
  masters: [3, 6, 12],
  sinks: [2, 4, 8, 16],
  partitionsPerMaster: 4,
  ingestCoresPerMaster: 1,
  databaseCores: 8,
};

/** Two significant digits, with thousands separators: the model is not more precise than that. */
export function approx(n: number): string {
  if (!Number.isFinite(n)) return '∞';
  if (n === 0) return '0';
  const step = 10 ** Math.max(0, Math.floor(Math.log10(Math.abs(n))) - 1);

  return (Math.round(n / step) * step).toLocaleString('en-US');
}

const cell = (r: BoundedRate): string => `${approx(r.rate)} (${r.bound})`;

/** The unit costs as the tables' caption gives them. */
export function costsLine(c: UnitCosts): string {
  return (
    `µs of CPU a unit: Redis ${c.redisUsPerPut} a PUT, ${c.redisUsPerBulkWrite} a _bulk document, ` +
    `${c.redisUsPerDrainedEntry} an entry drained; ingest ${c.ingestUsPerPut} a PUT, ${c.ingestUsPerBulkWrite} a ` +
    `_bulk document; sink ${c.sinkUsPerEntry} an entry; database ${c.databaseUsPerRow} a row drained from a backlog ` +
    `(${c.rowsPerEntry} rows an entry), ${c.databaseUsPerBatchedRow} a row in upserts of 500`
  );
}

/**
 * The model as markdown: ingest by masters (ingest cores in proportion, and how many it takes to reach the masters'
 * ceiling), then the drain by sinks and masters, of a backlog at the measured rows an entry and with every entry a
 * row.
 */
export function modelTables(costs: UnitCosts, grid: ModelGrid = DEFAULT_GRID): string {
  const deployment = (masters: number, sinks: number): Deployment => ({
    masters,
    partitions: masters * grid.partitionsPerMaster,
    ingestCores: masters * grid.ingestCoresPerMaster,
    sinks,
    databaseCores: grid.databaseCores,
  });
  const coresFor = (rate: number, us: number): string => String(Math.ceil((rate * us) / 1e6));
  const lines = [
    `Documents written a second (partitions = ${grid.partitionsPerMaster} × masters; the masters' ceiling, the rate ` +
      `with ${grid.ingestCoresPerMaster} ingest core a master, and the ingest cores that reach the ceiling):`,
    '',
    "| masters | masters' `PUT` ceiling | `PUT` | ingest cores | masters' `_bulk` ceiling | `_bulk` | ingest cores |",
    '| ---: | ---: | --- | ---: | ---: | --- | ---: |',
    ...grid.masters.map((m) => {
      const d = deployment(m, 1);
      const put = ingestRate(costs, d, 'put');
      const bulk = ingestRate(costs, d, 'bulk');
      const putCeiling = put.ceilings.Redis ?? 0;
      const bulkCeiling = bulk.ceilings.Redis ?? 0;

      return (
        `| ${m} | ${approx(putCeiling)} | ${cell(put)} | ${coresFor(putCeiling, costs.ingestUsPerPut)} | ` +
        `${approx(bulkCeiling)} | ${cell(bulk)} | ${coresFor(bulkCeiling, costs.ingestUsPerBulkWrite)} |`
      );
    }),
  ];
  const drainTable = (title: string, kind: DrainKind): string[] => [
    '',
    title,
    '',
    `| sinks | ${grid.masters.map((m) => `${m} masters`).join(' | ')} |`,
    `| ---: | ${grid.masters.map(() => '---').join(' | ')} |`,
    ...grid.sinks.map(
      (s) => `| ${s} | ${grid.masters.map((m) => cell(drainRate(costs, deployment(m, s), kind))).join(' | ')} |`,
    ),
  ];
  lines.push(
    ...drainTable(
      `Entries drained a second from a backlog (${costs.rowsPerEntry} rows an entry, as measured; ` +
        `${grid.databaseCores} database cores):`,
      'backlog',
    ),
    ...drainTable(
      `Entries drained a second with every entry a row (no backlog to coalesce; ${grid.databaseCores} database cores):`,
      'rowPerEntry',
    ),
  );

  return `${lines.join('\n')}\n`;
}
