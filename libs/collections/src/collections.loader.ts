import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONNECTION, DEFAULT_PARTITIONS } from '@app/contracts';
import type { Collection } from './collection';
import { connectionsOf } from './connection-view';
import { compileCollectionFile } from './collection-file.compiler';
import type { EntityCatalog } from './entities/entity-catalog';
import {
  CollectionConfigException,
  type CollectionFileProblem,
  describeProblem,
  FOLDER_PROBLEM_PATH,
  ProblemSink,
} from './collection-file.problem';

export { CollectionConfigException } from './collection-file.problem';

function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: false, strict: false });
  addFormats(ajv);

  return ajv;
}

/** What the loader may be given besides the folder. */
export interface LoadOptions {
  /** The entities outputs may name (`entity:`), loaded from SINK_ENTITIES by `loadEntityModules`. */
  readonly entities?: EntityCatalog;
  /** The connections outputs may name (`connection:`): `default` and SPILLWAY_CONNECTIONS; default `default` alone. */
  readonly connections?: readonly string[];
  /** Partitions of a collection whose file has no `partitions:` (SPILLWAY_PARTITIONS); default 1. */
  readonly partitions?: number;
}

/** The collections of a folder and the problems of its files (every one of them). */
export interface CollectionsCheck {
  /** The collections of the files without problems. */
  readonly collections: Collection[];
  readonly problems: CollectionFileProblem[];
}

/** The `*.yaml` / `*.yml` files of `dir`, sorted; a string when the folder cannot be read or holds none. */
function listCollectionFiles(dir: string): string[] | string {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => /\.ya?ml$/.test(n))
      .sort();
  } catch (e) {
    return `cannot be read (${(e as NodeJS.ErrnoException).code})`;
  }

  return names.length > 0 ? names.map((name) => join(dir, name)) : 'holds no collection files (*.yaml)';
}

/**
 * Every table the collections write, each once in each database: state tables (in every connection their
 * collection writes to) and output tables, across files. Every connection an output names is set up.
 */
function checkTables(
  collections: readonly Collection[],
  connections: readonly string[],
  problems: CollectionFileProblem[],
): Collection[] {
  const kept: Collection[] = [];
  const names = new Set<string>();
  const writers = new Map<string, string>();
  const claim = (connection: string, table: string, writer: string): string | undefined => {
    const key = `${connection}:${table}`;
    const other = writers.get(key);
    writers.set(key, writer);

    return other;
  };
  const where = (connection: string) => (connection === DEFAULT_CONNECTION ? '' : ` in connection ${connection}`);
  for (const collection of collections) {
    const sink = new ProblemSink(collection.file, problems);
    const before = sink.count;
    if (names.has(collection.name)) {
      sink.add('name', `"${collection.name}" is already declared by another file`);
    }
    if (collection.tableSchema === 'public' && collection.table.startsWith('spillway_')) {
      sink.add('table', 'names starting with spillway_ are reserved for Spillway');
    }
    names.add(collection.name);
    collection.outputs.forEach((output, i) => {
      if (!connections.includes(output.connection)) {
        sink.add(
          `output[${i}].with.connection`,
          `"${output.connection}" is not a connection: name it in SPILLWAY_CONNECTIONS (connections: ${connections.join(', ')})`,
        );
      }
    });
    const qualified = `${collection.tableSchema}.${collection.table}`;
    for (const connection of connectionsOf(collection)) {
      const writer = claim(connection, qualified, `collection "${collection.name}"`);
      if (writer !== undefined) {
        sink.add('table', `"${qualified}"${where(connection)} is already used by ${writer}`);
      }
    }
    collection.outputs.forEach((output, i) => {
      const table = `${output.schema}.${output.table}`;
      const other = claim(output.connection, table, `collection "${collection.name}" output[${i}]`);
      if (other !== undefined) {
        sink.add(`output[${i}].with.table`, `"${table}"${where(output.connection)} is already used by ${other}`);
      }
    });
    if (sink.count === before) kept.push(collection);
  }

  return kept;
}

/**
 * Reads and checks every collection file of `dir` (`*.yaml` / `*.yml`), reporting every problem of every file; never
 * throws for a problem of the files. The basis of `spillway validate` and of {@link loadCollections}. The problems
 * of the entity modules come first.
 */
export function checkCollectionFiles(dir: string, options: LoadOptions = {}): CollectionsCheck {
  const moduleProblems = options.entities?.problems ?? [];
  const problems: CollectionFileProblem[] = [];
  const files = listCollectionFiles(dir);
  if (typeof files === 'string') {
    return { collections: [], problems: [...moduleProblems, { file: dir, path: FOLDER_PROBLEM_PATH, reason: files }] };
  }
  const ajv = newAjv();
  const compiled = files.flatMap(
    (file) =>
      compileCollectionFile(new ProblemSink(file, problems), ajv, {
        entities: options.entities,
        partitions: options.partitions ?? DEFAULT_PARTITIONS,
      }) ?? [],
  );
  const collections = checkTables(compiled, options.connections ?? [DEFAULT_CONNECTION], problems);
  const order = new Map(files.map((file, i) => [file, i]));
  // In file order, then as found within a file.
  const sorted = problems
    .map((problem, i) => ({ problem, i }))
    .sort((a, b) => (order.get(a.problem.file) ?? 0) - (order.get(b.problem.file) ?? 0) || a.i - b.i)
    .map(({ problem }) => problem);

  return { collections, problems: [...moduleProblems, ...sorted] };
}

/** Every problem of the collection files of `dir` (empty when they are all good). */
export function validateCollectionFiles(dir: string, options: LoadOptions = {}): CollectionFileProblem[] {
  return checkCollectionFiles(dir, options).problems;
}

/**
 * Reads, checks and compiles every collection file of `dir`; throws {@link CollectionConfigException} with one line
 * (`collection file <file>: field "<path>": <problem>`) for the first problem.
 */
export function loadCollections(dir: string, options: LoadOptions = {}): Collection[] {
  const { collections, problems } = checkCollectionFiles(dir, options);
  const first = problems[0];
  if (first) throw new CollectionConfigException(describeProblem(first));

  return collections;
}
