import {
  approx,
  DEFAULT_GRID,
  drainRate,
  ingestRate,
  modelTables,
  type UnitCosts,
  unitsPerSecond,
} from '../bench/lib/cluster-model';

// Round figures, so that each expected rate can be checked by hand.
const COSTS: UnitCosts = {
  redisUsPerPut: 20,
  redisUsPerBulkWrite: 10,
  ingestUsPerPut: 100,
  ingestUsPerBulkWrite: 25,
  sinkUsPerEntry: 20,
  redisUsPerDrainedEntry: 10,
  databaseUsPerRow: 100,
  databaseUsPerBatchedRow: 50,
  rowsPerEntry: 0.1,
};

const deployment = { masters: 3, partitions: 12, ingestCores: 3, sinks: 2, databaseCores: 8 };

describe('cluster model (bench/lib/cluster-model.ts)', () => {
  it('turns cores and µs a unit into units a second', () => {
    expect(unitsPerSecond(1, 20)).toBe(50_000);
    expect(unitsPerSecond(3, 10)).toBe(300_000);
    expect(unitsPerSecond(4, 0)).toBe(Infinity);
  });

  it('bounds ingest by the masters or by ingest, whichever is lower', () => {
    // PUT: masters 3 × 50,000 = 150,000; ingest 3 × 10,000 = 30,000
    expect(ingestRate(COSTS, deployment, 'put')).toEqual({
      rate: 30_000,
      bound: 'ingest',
      ceilings: { Redis: 150_000, ingest: 30_000 },
    });
    // _bulk with ingest cores to spare: masters 3 × 100,000 = 300,000; ingest 20 × 40,000 = 800,000
    const bulk = ingestRate(COSTS, { ...deployment, ingestCores: 20 }, 'bulk');
    expect(bulk.rate).toBe(300_000);
    expect(bulk.bound).toBe('Redis');
  });

  it('uses only the masters that a collection’s partitions fall on', () => {
    const onePartition = ingestRate(COSTS, { ...deployment, partitions: 1, ingestCores: 100 }, 'bulk');
    expect(onePartition.ceilings.Redis).toBe(100_000);
    expect(drainRate(COSTS, { ...deployment, partitions: 2, sinks: 100 }).ceilings.Redis).toBe(200_000);
  });

  it('bounds the drain by the sinks, the masters or the database', () => {
    // sinks 2 × 50,000 = 100,000; masters 3 × 100,000; database 8 × 1e6 / (100 µs a row × 0.1 rows) = 800,000
    expect(drainRate(COSTS, deployment)).toEqual({
      rate: 100_000,
      bound: 'sinks',
      ceilings: { sinks: 100_000, Redis: 300_000, database: 800_000 },
    });
    // 16 sinks: 800,000, above the masters' 300,000
    expect(drainRate(COSTS, { ...deployment, sinks: 16 })).toMatchObject({ rate: 300_000, bound: 'Redis' });
    // every entry a row, at a batched row's 50 µs: the database's 8 × 1e6 / 50 = 160,000
    expect(drainRate(COSTS, { ...deployment, sinks: 16 }, 'rowPerEntry')).toMatchObject({
      rate: 160_000,
      bound: 'database',
    });
  });

  it('rounds to two significant digits', () => {
    expect(approx(123_456)).toBe('120,000');
    expect(approx(96_500)).toBe('97,000');
    expect(approx(45)).toBe('45');
    expect(approx(Infinity)).toBe('∞');
  });

  it('writes an ingest row per masters count and a drain row per sinks count', () => {
    const tables = modelTables(COSTS);
    const rows = tables.split('\n').filter((line) => /^\| \d/.test(line));
    expect(rows).toHaveLength(DEFAULT_GRID.masters.length + 2 * DEFAULT_GRID.sinks.length);
    // 3 masters, 3 ingest cores: PUT 30,000 bound by ingest, 15 cores reach the masters' 150,000; _bulk 120,000 of
    // the masters' 300,000, which 7.5 cores reach
    expect(rows[0]).toBe('| 3 | 150,000 | 30,000 (ingest) | 15 | 300,000 | 120,000 (ingest) | 8 |');
    // 16 sinks over 12 masters (48 partitions), every entry a row: the database's 160,000
    expect(rows.at(-1)).toMatch(/\| 160,000 \(database\) \|$/);
  });
});
