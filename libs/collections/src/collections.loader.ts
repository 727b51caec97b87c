import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Collection } from './collection';
import { collectionFileSchema, type CollectionFile } from './collection-file.schema';

export class CollectionConfigException extends Error {
  override readonly name = 'CollectionConfigException';
}

function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: false, strict: false });
  addFormats(ajv);

  return ajv;
}

function fail(file: string, field: string, problem: string): never {
  throw new CollectionConfigException(`collection file ${file}: field "${field}": ${problem}`);
}

function readCollectionFile(file: string, ajv: Ajv2020): CollectionFile {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    fail(file, '(file)', `not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const check = ajv.compile<CollectionFile>(collectionFileSchema);
  if (!check(raw)) {
    const error = check.errors?.[0];
    if (!error) {
      fail(file, '(root)', 'is invalid');
    }
    const field =
      error.keyword === 'required'
        ? String(error.params.missingProperty)
        : error.keyword === 'additionalProperties'
          ? String(error.params.additionalProperty)
          : error.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(root)';
    const problem = error.keyword === 'additionalProperties' ? 'is not a known field' : (error.message ?? 'is invalid');
    fail(file, field, problem);
  }

  return raw;
}

function toCollection(file: string, def: CollectionFile, ajv: Ajv2020): Collection {
  const qualified = def.table ?? def.name;
  const dot = qualified.indexOf('.');
  const [tableSchema, table] = dot === -1 ? ['public', qualified] : [qualified.slice(0, dot), qualified.slice(dot + 1)];
  let validateDoc;
  if (def.schema) {
    try {
      validateDoc = ajv.compile(def.schema);
    } catch (e) {
      fail(file, 'schema', `not a valid JSON Schema: ${(e as Error).message}`);
    }
  }

  return { name: def.name, kind: def.kind, tableSchema, table, key: def.key ?? 'id', validateDoc, file, outputs: [] };
}

/** Reads and validates every `*.yaml` / `*.yml` file in a folder; throws one line on the first bad one. */
export function loadCollections(dir: string): Collection[] {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => /\.ya?ml$/.test(n))
      .sort();
  } catch (e) {
    throw new CollectionConfigException(
      `COLLECTIONS_DIR ${dir}: cannot be read (${(e as NodeJS.ErrnoException).code})`,
    );
  }
  if (names.length === 0) {
    throw new CollectionConfigException(`COLLECTIONS_DIR ${dir}: holds no collection files (*.yaml)`);
  }
  const ajv = newAjv();
  const collections: Collection[] = [];
  const tables = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    const collection = toCollection(file, readCollectionFile(file, ajv), ajv);
    if (collections.some((c) => c.name === collection.name)) {
      fail(file, 'name', `"${collection.name}" is already declared by another file`);
    }
    const qualified = `${collection.tableSchema}.${collection.table}`;
    if (tables.has(qualified)) {
      fail(file, 'table', `"${qualified}" is already used by collection "${tables.get(qualified)}"`);
    }
    if (collection.tableSchema === 'public' && collection.table.startsWith('spillway_')) {
      fail(file, 'table', 'names starting with spillway_ are reserved for Spillway');
    }
    tables.set(qualified, collection.name);
    collections.push(collection);
  }

  return collections;
}
