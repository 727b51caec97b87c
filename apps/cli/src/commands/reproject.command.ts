import { type Command, InvalidArgumentError, Option } from 'commander';
import { type Collection, connectionView, loadCollections, loadEntityModules } from '@app/collections';
import { readCommandEnv } from '@app/config';
import { DEFAULT_CONNECTION } from '@app/contracts';
import { collectionsIn, createSpillwayDataSource, planSchema } from '@app/persistence';
import type { DataSource } from 'typeorm';
import { CollectionReprojector, type ReprojectionCounts } from '../reproject/collection-reprojector';
import { startReprojectionProgress } from '../reproject/reprojection-progress';
import { type ConnectionTarget, connectionTargets, withDatabaseOptions } from './connection-targets';

/** Documents a transaction, by default: long enough to amortise a round trip, short enough for sinks waiting. */
export const DEFAULT_BATCH_SIZE = 500;
/** Reasons of invalid documents printed; the others are only counted. */
const INVALID_SHOWN = 5;

/** A failure that ends the command with its message as the one line it prints. */
export class ReprojectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

const n = (value: number): string => value.toLocaleString('en-US');
const shortName = (name: string): string => name.replace(/^public\./, '');

/** The closing line, e.g. `reprojected sessions: 12,345 documents, 61,725 rows in 2 tables (…), 3 filtered, …`. */
export function summaryLine(collection: string, counts: ReprojectionCounts, elapsedMs: number): string {
  const rows = [...counts.rows.values()].reduce((a, b) => a + b, 0);
  const tables = [...counts.rows].map(([name, count]) => `${shortName(name)} ${n(count)}`).join(', ');
  const orphans = counts.orphanRows > 0 ? `, ${n(counts.orphanRows)} rows of deleted documents removed` : '';

  return (
    `reprojected ${collection}: ${n(counts.documents)} documents, ${n(rows)} rows in ${counts.rows.size} ` +
    `table${counts.rows.size === 1 ? '' : 's'} (${tables}), ${n(counts.filtered)} filtered, ${n(counts.invalid)} ` +
    `invalid${orphans}, ${(elapsedMs / 1000).toFixed(1)} s`
  );
}

function findCollection(collections: readonly Collection[], name: string, dir: string): Collection {
  const collection = collections.find((c) => c.name === name);
  if (collection === undefined) {
    const known = collections.map((c) => c.name).join(', ') || 'none';
    throw new ReprojectError(`unknown collection "${name}" in ${dir} (known: ${known})`);
  }
  if (collection.outputs.length === 0) {
    throw new ReprojectError(`collection ${name} has no outputs (${collection.file} has no "output"): nothing to do`);
  }

  return collection;
}

/** Refuses to write tables that a sink has not made or evolved yet, as a sink would at start. */
async function requireSchemaUpToDate(
  dataSource: DataSource,
  collections: readonly Collection[],
  collection: Collection,
) {
  const plan = await planSchema(dataSource, collections);
  const tables = new Set([
    `${collection.tableSchema}.${collection.table}`,
    ...collection.outputs.map((o) => `${o.schema}.${o.table}`),
  ]);
  const pending = [...plan.allowed, ...plan.refused].filter((s) => s.table !== undefined && tables.has(s.table));
  if (plan.pendingMigrations.length + pending.length > 0) {
    const what =
      plan.pendingMigrations.length > 0
        ? `${plan.pendingMigrations.length} migrations have not run`
        : `${pending.length} statements are pending for ${[...new Set(pending.map((s) => s.table))].join(', ')}`;
    throw new ReprojectError(
      `the schema of ${collection.name} is not up to date (${what}): start a sink to create or evolve its tables, ` +
        'or run "spillway plan" to see why it cannot',
    );
  }
}

/**
 * Rewrites the output tables of the collection `name` from its state table, in each connection's database that holds
 * some of its outputs; `print` gets a summary line a connection, `note` the reasons of the first invalid documents.
 * Throws a {@link ReprojectError} (or the database's error) on failure.
 */
export async function reproject(
  settings: {
    name: string;
    dir: string;
    targets: readonly ConnectionTarget[];
    batchSize: number;
    progress?: boolean;
    entityModules?: readonly string[];
  },
  print: (line: string) => void,
  note: (line: string) => void,
): Promise<Map<string, ReprojectionCounts>> {
  const connections = settings.targets.map((t) => t.name);
  const all = loadCollections(settings.dir, { entities: loadEntityModules(settings.entityModules ?? []), connections });
  const collection = findCollection(all, settings.name, settings.dir);
  const targets = settings.targets.filter((t) => collection.outputs.some((o) => o.connection === t.name));
  if (targets.length === 0) {
    throw new ReprojectError(`collection ${collection.name} has no outputs in connection ${connections.join(', ')}`);
  }
  const counts = new Map<string, ReprojectionCounts>();
  for (const target of targets) {
    const label = targets.length > 1 || target.name !== DEFAULT_CONNECTION ? ` (connection ${target.name})` : '';
    counts.set(
      target.name,
      await reprojectIn(target, collectionsIn(all, target.name), connectionView(collection, target.name), {
        ...settings,
        print: (line) => print(`${line}${label}`),
        note,
      }),
    );
  }

  return counts;
}

/** {@link reproject} in one connection's database. */
async function reprojectIn(
  target: ConnectionTarget,
  collections: readonly Collection[],
  collection: Collection,
  settings: { batchSize: number; progress?: boolean; print: (line: string) => void; note: (line: string) => void },
): Promise<ReprojectionCounts> {
  const dataSource = createSpillwayDataSource({ url: target.url, poolSize: 1 });
  await dataSource.initialize();
  try {
    await requireSchemaUpToDate(dataSource, collections, collection);
    const started = performance.now();
    const reprojector = new CollectionReprojector(dataSource, collection);
    const progress =
      settings.progress === false
        ? undefined
        : startReprojectionProgress(collection.name, await reprojector.countDocuments());
    let shown = 0;
    try {
      const counts = await reprojector.run({
        batchSize: settings.batchSize,
        onProgress: (walked) => progress?.update(walked),
        onInvalid: (id, reason) => {
          if (shown++ < INVALID_SHOWN) {
            settings.note(`invalid: ${collection.name} ${id}: ${reason} (skipped, its rows left as they are)`);
          }
        },
      });
      progress?.stop();
      settings.print(summaryLine(collection.name, counts, performance.now() - started));

      return counts;
    } finally {
      progress?.stop();
    }
  } finally {
    await dataSource.destroy();
  }
}

function batchSize(value: string): number {
  const size = Number(value);
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new InvalidArgumentError('a whole number of documents, at least 1');
  }

  return size;
}

export function registerReprojectCommand(program: Command): void {
  withDatabaseOptions(
    program
      .command('reproject')
      .description(
        "rewrite a collection's output tables from its state table, in batches, safe while sinks write (each batch " +
          'takes the locks a sink takes for its documents); removes the rows of documents that are deleted or filtered',
      )
      .argument('<collection>', 'the name of the collection'),
  )
    .addOption(
      new Option('--batch-size <documents>', 'documents a transaction')
        .argParser(batchSize)
        .default(DEFAULT_BATCH_SIZE),
    )
    .addHelpText(
      'after',
      '\nExit codes:\n  0  done\n  1  unknown collection, no outputs, schema not up to date, or an error',
    )
    .action(
      async (name: string, options: { dir?: string; databaseUrl?: string; connection?: string; batchSize: number }) => {
        const env = readCommandEnv();
        await reproject(
          {
            name,
            dir: options.dir ?? env.collectionsDir,
            targets: connectionTargets(env, options),
            batchSize: options.batchSize,
            entityModules: env.entityModules,
          },
          (line) => process.stdout.write(`${line}\n`),
          (line) => process.stderr.write(`${line}\n`),
        );
        process.exitCode = 0;
      },
    );
}
