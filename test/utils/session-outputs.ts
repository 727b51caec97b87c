import type { Collection, ColumnType, OutputTable } from '@app/collections';
import type { DatabaseReader } from '../../tools/local-stack';
import { mulberry32 } from '../../tools/shared/random';
import type { PipelineFixture } from './pipeline-fixture';

/**
 * The seeded session workload the typed-output e2e specs send (documents with a screens array, merge patches, deletes),
 * and how they compare output tables with what the collection's own projector makes of the documents Redis holds.
 */

/** A seeded source of numbers in [0, 1). */
export type Random = () => number;

export const pick = <T>(random: Random, values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;

/** What differs between the specs' session documents: each spec's outputs read fields of their own. */
export interface SessionShape {
  /** owners are u0 .. u<owners - 1> */
  owners: number;
  statuses: readonly string[];
  /** the statuses a patch sets */
  patchStatuses: readonly string[];
  /** a document has 0 to maxScreens screens, named from screenNames */
  maxScreens: number;
  screenNames: readonly string[];
  /** shares of documents whose amount is a number, and the decimal string '12.50'; the rest have none */
  amountShares: { number: number; text: number };
  /** fields only this spec's outputs read, added to each document */
  extra: (random: Random) => object;
  /** fields the last kind of patch sets beside a new amount and no premium */
  patchExtra: (random: Random, i: number) => object;
}

/** Screens, positions 0..n-1; some without seconds (a NULL). */
function screensOf(random: Random, shape: SessionShape): object[] {
  return Array.from({ length: Math.floor(random() * (shape.maxScreens + 1)) }, (_, position) => ({
    position,
    name: pick(random, shape.screenNames),
    ...(random() < 0.9 ? { seconds: Math.round(random() * 300_000) / 1000 } : {}),
  }));
}

/** A session document whose every value converts for every output of its spec. */
export function sessionDoc(random: Random, i: number, shape: SessionShape): object {
  const ms = Date.UTC(2024, 0, 1) + Math.floor(random() * 365 * 86_400_000);
  const amountRoll = random();
  const { number, text } = shape.amountShares;

  return {
    owner: `u${i % shape.owners}`,
    status: pick(random, shape.statuses),
    // A number, a decimal string kept exactly, or missing (NULL).
    ...(amountRoll < number
      ? { amount: Math.round(random() * 1_000_000) / 100 }
      : amountRoll < number + text
        ? { amount: '12.50' }
        : {}),
    // Epoch milliseconds, or an RFC 3339 text with a +02:00 offset.
    startedAt: random() < 0.5 ? ms : `${new Date(ms + 2 * 3_600_000).toISOString().slice(0, -1)}+02:00`,
    startedMs: random() < 0.7 ? ms : String(ms),
    ...(random() < 0.8 ? { day: new Date(ms).toISOString().slice(0, 10) } : {}),
    ...(random() < 0.7 ? { premium: pick<boolean | string>(random, [true, false, 'true', 'false']) } : {}),
    ...shape.extra(random),
    device: { type: pick(random, ['ios', 'android', 'web']), model: pick(random, ['p7', 's23', 'x']) },
    screens: screensOf(random, shape),
  };
}

/** A merge patch (RFC 7396): replaces (grows, shrinks, empties) or removes the screens array, changes scalars. */
function sessionPatch(random: Random, i: number, shape: SessionShape): object {
  const roll = random();
  if (roll < 0.35) return { screens: screensOf(random, shape) };
  if (roll < 0.45) return { screens: null };
  if (roll < 0.7) return { status: pick(random, shape.patchStatuses) };
  if (roll < 0.85) return { device: { model: `m${i % 5}` }, amount: null };

  return { amount: Math.round(random() * 1_000_000) / 100, premium: null, ...shape.patchExtra(random, i) };
}

/** A spec's seeded load: what it sends, from how many clients, how fast. */
export interface SessionLoad {
  shape: SessionShape;
  seed: number;
  /** documents s-0 .. s-<ids - 1> */
  ids: number;
  clients: number;
  pauseBetweenOpsMs: number;
}

/** What runSessionLoad() sent: 202s, 404s / 412s, 503s it allowed, and the ids it wrote. */
export interface LoadResult {
  accepted: number;
  refused: number;
  unavailable: number;
  touched: Set<string>;
}

/** A LoadResult of nothing sent yet. */
export function noLoadYet(): LoadResult {
  return { accepted: 0, refused: 0, unavailable: 0, touched: new Set() };
}

/**
 * Seeded puts / patches / deletes (45/40/15) over `ids` documents from `clients` clients, paced, until `endsAt`. Every
 * answer is 202, or 404 / 412 (a patch or delete of a document that is not live; a patch that lost 5 races in a row),
 * or a 503 while `unavailableAllowed()` (the database is, or was just, down); anything else fails the load.
 */
export async function runSessionLoad(
  fx: PipelineFixture,
  load: SessionLoad,
  result: LoadResult,
  until: { endsAt: number; unavailableAllowed?: () => boolean },
): Promise<void> {
  const random = mulberry32(load.seed);
  let i = 0;
  const client = async () => {
    while (Date.now() < until.endsAt) {
      const n = i++;
      const id = `s-${Math.floor(random() * load.ids)}`;
      const roll = random();
      const [method, body] =
        roll < 0.45
          ? (['PUT', sessionDoc(random, n, load.shape)] as const)
          : roll < 0.85
            ? (['PATCH', sessionPatch(random, n, load.shape)] as const)
            : (['DELETE', undefined] as const);
      const reply = await fx.request(method, `/v1/${fx.docs}/${id}`, body);
      if (reply.status === 202) {
        result.accepted++;
        result.touched.add(id);
      } else if (reply.status === 404 || reply.status === 412) {
        result.refused++;
      } else if (reply.status === 503 && until.unavailableAllowed?.()) {
        result.unavailable++;
      } else {
        throw new Error(`${method} ${id}: ${reply.status} ${JSON.stringify(reply.body)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, load.pauseBetweenOpsMs));
    }
  };
  await Promise.all(Array.from({ length: load.clients }, client));
}

/** One cell, as the test compares it: reader (see DatabaseReader) and projector values brought to one form per type. */
function normalise(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'text':
    case 'uuid':
    case 'date': // read as text (the reader's form), as the projector makes it: YYYY-MM-DD
    case 'bigint': // a decimal string from both the reader and the projector
      return value;
    case 'boolean': // MariaDB's boolean is a tinyint: 1 or 0
      return typeof value === 'number' ? value !== 0 : value;
    case 'integer':
    case 'double':
      return Number(value);
    case 'numeric':
      // PostgreSQL keeps the scale it was given ("12.50"), MariaDB's decimal(65,30) pads to 30 places: compare the
      // decimal's value, not its spelling.
      return (value as string).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
    case 'timestamptz':
      return new Date(value as string | Date).toISOString();
    case 'jsonb':
      return typeof value === 'string' ? JSON.parse(value) : value;
  }
}

/** Rows keyed by their primary key's values; each row maps column name to its normalised value. */
export type TableRows = Map<string, Record<string, unknown>>;

/** A state table's or Redis's documents: id → { version, doc }. */
export type Documents = Map<string, { version: number; doc: unknown }>;

/** The JSON of a row's primary key values: the key of TableRows. */
export function keyOf(table: OutputTable, row: Record<string, unknown>): string {
  return JSON.stringify(table.columns.filter((c) => c.isKey).map((c) => row[c.name]));
}

/** An output table's rows as `reader` reads them from its database, normalised. */
export async function readOutputTable(reader: DatabaseReader, table: OutputTable): Promise<TableRows> {
  const columns = [...table.columns.map((c) => c.name), table.versionColumn];
  const rows = await reader.rows(table.table, { schema: table.schema, columns });
  const found: TableRows = new Map();
  for (const row of rows) {
    const normalised: Record<string, unknown> = { [table.versionColumn]: String(row[table.versionColumn]) };
    for (const column of table.columns) normalised[column.name] = normalise(column.type, row[column.name]);
    found.set(keyOf(table, normalised), normalised);
  }

  return found;
}

/** What `documents` project to, output by output, by the collection's own projector, with their versions. */
export interface ExpectedOutputs {
  tables: TableRows[];
  /** documents the collection's filter drops */
  filtered: number;
  /** documents with rows in a foreach output, and without */
  withScreens: number;
  withoutScreens: number;
}

/** What the documents (as Redis holds them) project to, by the collection's own projector. */
export function expectedOutputs(collection: Collection, documents: Documents): ExpectedOutputs {
  const projector = collection.projector;
  if (!projector) throw new Error(`${collection.name} has no outputs`);
  const expected: ExpectedOutputs = {
    tables: collection.outputs.map(() => new Map()),
    filtered: 0,
    withScreens: 0,
    withoutScreens: 0,
  };
  for (const [id, { version, doc }] of documents) {
    const projection = projector.project(doc);
    if (projection.kind === 'invalid') throw new Error(`${id} v${version} does not project: ${projection.reason}`);
    if (projection.kind === 'filtered') {
      expected.filtered++;
      continue;
    }
    collection.outputs.forEach((table, t) => {
      const rows = projection.rows[t] ?? [];
      if (table.isForeach) {
        if (rows.length > 0) expected.withScreens++;
        else expected.withoutScreens++;
      }
      for (const row of rows) {
        const normalised: Record<string, unknown> = { [table.versionColumn]: String(version) };
        table.columns.forEach((column, c) => {
          normalised[column.name] = normalise(column.type, row[c]);
        });
        expected.tables[t]?.set(keyOf(table, normalised), normalised);
      }
    });
  }

  return expected;
}

/** Expects `actual` to hold exactly the keys of `expected`, each with equal values; `where` names the table. */
export function expectSameRows<T>(actual: Map<string, T>, expected: Map<string, T>, where: string): void {
  expect([...actual.keys()].sort(), where).toEqual([...expected.keys()].sort());
  for (const [key, row] of expected) expect(actual.get(key), `${where} ${key}`).toEqual(row);
}
