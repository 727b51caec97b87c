// The sink's batch write alone, for A/B runs of the write path: drain-shaped batches (by default about 46 puts and 4
// deletes of the mapped drain's documents, each id once; or events with unique ids) through BatchWriter into a
// durable PostgreSQL or MariaDB of its own, without Redis or the sink processes, with the CPU seconds of this process
// and of the database. `npx tsx bench/batch-write.ts --help`.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { type Collection, loadCollections } from '@app/collections';
import { type ChangeEntry, ChangeOp } from '@app/contracts';
import { createSpillwayDataSource, DatabaseService, SchemaProvisioner } from '@app/persistence';
import { BatchWriter } from '../apps/sink/src/upsert/batch-writer';
import { type DatabaseKind, ROOT, startDatabaseServer } from '../tools/local-stack';
import { databaseCpuSeconds } from './lib/cpu';
import { makeDocuments, makeIds, seededRandom, withId, withScreens } from './lib/workload';

const HELP = `Usage: npx tsx bench/batch-write.ts [plain|mapped|events] [--ids N] [--batch N] [--deletes FRACTION]
                                      [--writers N] [--passes N] [--db postgres|mariadb]

Writes every id once a pass in batches of --batch entries (default 50; the sink's SINK_BATCH_SIZE is 500) through
the sink's BatchWriter, from --writers concurrent loops (default 2), into a durable PostgreSQL (default) or MariaDB
(--db mariadb) of its own. plain and mapped write the shipped sessions collection without or with its outputs
(mapped, the default): each entry a put, or a delete for a --deletes fraction of them (default 0.07; 0 for first
writes only). The first pass creates every document, as the bench's drains do; later passes update them. events
writes an event collection shaped as config/collections/clicks.yaml: every entry an event of a unique id (every
pass new ids), each an insert. Prints wall time, rows written a second, this process's CPU seconds (the sink's
share) and the database's, and the rows held.
`;

type Mode = 'plain' | 'mapped' | 'events';

interface Options {
  mode: Mode;
  ids: number;
  batch: number;
  deletes: number;
  writers: number;
  passes: number;
  db: DatabaseKind;
}

function parseOptions(args: string[]): Options | undefined {
  const options: Options = {
    mode: 'mapped',
    ids: 100_000,
    batch: 50,
    deletes: 0.07,
    writers: 2,
    passes: 1,
    db: 'postgres',
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const number = () => {
      const value = Number(args[++i]);
      if (!Number.isInteger(value) || value < 1) throw new Error(`${arg} takes a positive integer`);

      return value;
    };
    if (arg === 'plain' || arg === 'mapped' || arg === 'events') options.mode = arg;
    else if (arg === '--ids') options.ids = number();
    else if (arg === '--batch') options.batch = number();
    else if (arg === '--writers') options.writers = number();
    else if (arg === '--passes') options.passes = number();
    else if (arg === '--deletes') {
      const value = Number(args[++i]);
      if (!(value >= 0 && value <= 1)) throw new Error('--deletes takes a fraction from 0 to 1');
      options.deletes = value;
    } else if (arg === '--db') {
      const value = args[++i];
      if (value !== 'postgres' && value !== 'mariadb') throw new Error('--db takes postgres or mariadb');
      options.db = value;
    } else return undefined;
  }

  return options;
}

/** A shipped collection file as a collection: sessions with or without its transform and outputs, or clicks. */
function benchCollection(mode: Mode, dir: string): Collection {
  const name = mode === 'events' ? 'clicks' : 'sessions';
  const file = parseYaml(readFileSync(join(ROOT, 'config', 'collections', `${name}.yaml`), 'utf8')) as Record<
    string,
    unknown
  >;
  if (mode === 'plain') {
    delete file.transform;
    delete file.output;
  }
  writeFileSync(join(dir, `${name}.yaml`), toYaml(file));

  return loadCollections(dir).find((c) => c.name === name) as Collection;
}

const SCREENS = ['home', 'search', 'product', 'cart', 'checkout', 'account'];

function batchesOf(o: Options): ChangeEntry[][] {
  const random = seededRandom(1);
  const ids = makeIds(o.ids);
  const docs = withScreens(seededRandom(30), makeDocuments(random, 1000));
  const batches: ChangeEntry[][] = [];
  let ms = 1_700_000_000_000;
  for (let pass = 1; pass <= o.passes; pass++) {
    const order = ids.map((id) => ({ id, key: random() })).sort((a, b) => a.key - b.key);
    for (let i = 0; i < order.length; i += o.batch) {
      batches.push(
        order.slice(i, i + o.batch).map(({ id }): ChangeEntry => {
          ms += 1;
          if (o.mode === 'events') {
            const eventId = pass === 1 ? id : `${id}-${pass}`;
            const click = {
              id: eventId,
              sessionId: `s-${Math.floor(random() * 10_000)}`,
              screen: SCREENS[Math.floor(random() * SCREENS.length)],
              at: new Date(ms).toISOString(),
            };

            return {
              entryId: `${ms}-0`,
              op: ChangeOp.EVENT,
              id: eventId,
              version: 1,
              ingestedAt: ms,
              doc: JSON.stringify(click),
            };
          }
          const base = { entryId: `${ms}-0`, id, version: pass * 10, ingestedAt: ms };

          return random() < o.deletes
            ? { ...base, op: ChangeOp.DELETE, doc: '' }
            : { ...base, op: ChangeOp.PUT, doc: withId(id, docs[Math.floor(random() * docs.length)] as string) };
        }),
      );
    }
  }

  return batches;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o === undefined) {
    process.stdout.write(HELP);

    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'spillway-batch-write-'));
  chmodSync(dir, 0o755); // so that the database, run as its own user when we are root, can keep its data inside
  const server = await startDatabaseServer(o.db, { dir: join(dir, o.db), durable: true });
  const serverCpu = () => databaseCpuSeconds({ databaseServer: server });
  const dataSource = createSpillwayDataSource({ url: server.url, poolSize: o.writers + 1 });
  try {
    const collection = benchCollection(o.mode, dir);
    const database = new DatabaseService(dataSource);
    await database.connect();
    await new SchemaProvisioner(database).provision([collection]);
    if (o.db === 'postgres') await dataSource.query('CHECKPOINT');
    const batches = batchesOf(o);
    const writer = new BatchWriter(database);
    const serverBefore = serverCpu();
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    let next = 0;
    let rows = 0;
    await Promise.all(
      Array.from({ length: o.writers }, async () => {
        for (let b = next++; b < batches.length; b = next++) {
          const { counts } = await writer.writeIsolating(collection, batches[b] as ChangeEntry[]);
          rows += counts.inserted + counts.updated + counts.deleted;
        }
      }),
    );
    const wallS = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const serverS = serverCpu() - serverBefore;
    const tables = [collection.table, ...collection.outputs.map((output) => output.table)];
    const held = await Promise.all(
      tables.map(async (table) => {
        const [row] = await dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM ${table}`);

        return `${table} ${row?.n}`;
      }),
    );
    const entries = batches.reduce((n, batch) => n + batch.length, 0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const perMillion = (seconds: number) => ((seconds * 1e6) / Math.max(rows, 1)).toFixed(1);
    process.stdout.write(
      `${o.mode}: ${entries} entries in ${batches.length} batches, ${wallS.toFixed(1)} s, ` +
        `${Math.round(rows / wallS)} rows/s; ` +
        `CPU s: this process ${cpuS.toFixed(2)} (user ${(cpu.user / 1e6).toFixed(2)}), ` +
        `${server.label} ${serverS.toFixed(2)} (a million rows: ${perMillion(cpuS)} and ${perMillion(serverS)}); ` +
        `rows held: ${held.join(', ')}\n`,
    );
  } finally {
    await dataSource.destroy();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`batch-write: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
