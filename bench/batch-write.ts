// The sink's batch write alone, for A/B runs of the write path: drain-shaped batches (about 46 puts and 4 deletes of
// the mapped drain's documents, each id once) through BatchWriter into a durable PostgreSQL of its own, without Redis
// or the sink processes, with the CPU seconds of this process and of PostgreSQL. `npx tsx bench/batch-write.ts --help`.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { type Collection, loadCollections } from '@app/collections';
import { type ChangeEntry, ChangeOp } from '@app/contracts';
import { createSpillwayDataSource, DatabaseService, SchemaProvisioner } from '@app/persistence';
import { BatchWriter } from '../apps/sink/src/upsert/batch-writer';
import { ROOT, startPostgres } from '../tools/local-stack';
import { treeCpuSeconds } from './lib/cpu';
import { makeDocuments, makeIds, seededRandom, withId, withScreens } from './lib/workload';

const HELP = `Usage: npx tsx bench/batch-write.ts [plain|mapped] [--ids N] [--writers N] [--passes N]

Writes every id once a pass (a put, or a delete for 7% of them) in batches of 50 through the sink's BatchWriter, from
--writers concurrent loops (default 2), into the shipped sessions collection: with its outputs (mapped, the
default) or without them (plain). The first pass creates every document, as the bench's drains do; later passes
update them. Prints wall time, this process's CPU seconds (the sink's share) and PostgreSQL's, and the rows held.
`;

interface Options {
  mapped: boolean;
  ids: number;
  writers: number;
  passes: number;
}

function parseOptions(args: string[]): Options | undefined {
  const options: Options = { mapped: true, ids: 100_000, writers: 2, passes: 1 };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const number = () => {
      const value = Number(args[++i]);
      if (!Number.isInteger(value) || value < 1) throw new Error(`${arg} takes a positive integer`);

      return value;
    };
    if (arg === 'plain' || arg === 'mapped') options.mapped = arg === 'mapped';
    else if (arg === '--ids') options.ids = number();
    else if (arg === '--writers') options.writers = number();
    else if (arg === '--passes') options.passes = number();
    else return undefined;
  }

  return options;
}

/** The shipped sessions file as a collection, with or without its transform and outputs. */
function sessionsCollection(mapped: boolean, dir: string): Collection {
  const file = parseYaml(readFileSync(join(ROOT, 'config', 'collections', 'sessions.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
  if (!mapped) {
    delete file.transform;
    delete file.output;
  }
  writeFileSync(join(dir, 'sessions.yaml'), toYaml(file));

  return loadCollections(dir).find((c) => c.name === 'sessions') as Collection;
}

function batchesOf(o: Options): ChangeEntry[][] {
  const random = seededRandom(1);
  const ids = makeIds(o.ids);
  const docs = withScreens(seededRandom(30), makeDocuments(random, 1000));
  const batches: ChangeEntry[][] = [];
  let ms = 1_700_000_000_000;
  for (let pass = 1; pass <= o.passes; pass++) {
    const order = ids.map((id) => ({ id, key: random() })).sort((a, b) => a.key - b.key);
    for (let i = 0; i < order.length; i += 50) {
      batches.push(
        order.slice(i, i + 50).map(({ id }): ChangeEntry => {
          ms += 1;
          const base = { entryId: `${ms}-0`, id, version: pass * 10, ingestedAt: ms };

          return random() < 0.07
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
  chmodSync(dir, 0o755); // so that PostgreSQL, run as its own user when we are root, can keep its data inside
  const pg = await startPostgres({ dir: join(dir, 'pg'), durable: true });
  const postgresCpu = () => treeCpuSeconds(Number(readFileSync(join(pg.dir, 'postmaster.pid'), 'utf8').split('\n')[0]));
  const dataSource = createSpillwayDataSource({ url: pg.url, poolSize: o.writers + 1 });
  try {
    const collection = sessionsCollection(o.mapped, dir);
    const database = new DatabaseService(dataSource);
    await database.connect();
    await new SchemaProvisioner(database).provision([collection]);
    await dataSource.query('CHECKPOINT');
    const batches = batchesOf(o);
    const writer = new BatchWriter(database);
    const postgresBefore = postgresCpu();
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: o.writers }, async () => {
        for (let b = next++; b < batches.length; b = next++) {
          await writer.writeIsolating(collection, batches[b] as ChangeEntry[]);
        }
      }),
    );
    const wallS = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const postgresS = postgresCpu() - postgresBefore;
    const tables = [collection.table, ...collection.outputs.map((output) => output.table)];
    const held = await Promise.all(
      tables.map(async (table) => {
        const [row] = await dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM ${table}`);

        return `${table} ${row?.n}`;
      }),
    );
    const entries = batches.reduce((n, batch) => n + batch.length, 0);
    process.stdout.write(
      `${o.mapped ? 'mapped' : 'plain'}: ${entries} entries in ${batches.length} batches, ${wallS.toFixed(1)} s; ` +
        `CPU s: this process ${((cpu.user + cpu.system) / 1e6).toFixed(2)} (user ${(cpu.user / 1e6).toFixed(2)}), ` +
        `PostgreSQL ${postgresS.toFixed(2)}; rows held: ${held.join(', ')}\n`,
    );
  } finally {
    await dataSource.destroy();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`batch-write: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
