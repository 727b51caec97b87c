import type { EntitySchema } from 'typeorm';
import type { Collection } from '@app/collections';
import type { EntityDialect } from '../entities/entity-dialect';
import { outputTableEntity } from '../entities/output-table.entity';
import { stateTableEntity } from '../entities/state-table.entity';
import { TOMBSTONES_TABLE, tombstoneEntity } from '../entities/tombstone.entity';

/** A table Spillway makes and keeps, as an entity, with where it is declared (for messages). */
export interface DescribedTable {
  readonly entity: EntitySchema;
  /** As the collection file says it; undefined for Spillway's own table, in the connection's current schema. */
  readonly schema?: string;
  readonly table: string;
  /** `collection file <file>`, or `Spillway's migrations` */
  readonly origin: string;
}

/** Where Spillway's own tables are declared. */
export const MIGRATIONS_ORIGIN = "Spillway's migrations";

/**
 * Every table of these collections (state tables, then outputs) as entities of the database of `tables`, and
 * `spillway_tombstones` unless left out. Throws one line when two declarations name the same table, which would
 * make them fight over its shape.
 */
export function describedTables(
  collections: readonly Collection[],
  tables: EntityDialect,
  options: { withTombstones: boolean },
): DescribedTable[] {
  const described: DescribedTable[] = options.withTombstones
    ? [{ entity: tombstoneEntity(tables) as EntitySchema, table: TOMBSTONES_TABLE, origin: MIGRATIONS_ORIGIN }]
    : [];
  const seen = new Map<string, string>();
  const add = (table: DescribedTable & { schema: string }) => {
    const path = `${table.schema}.${table.table}`;
    const other = seen.get(path);
    if (other !== undefined) {
      throw new Error(`${table.origin}: table ${path} is also declared by ${other}: one table has one declaration`);
    }
    seen.set(path, table.origin);
    described.push(table);
  };
  for (const collection of collections) {
    const origin = `collection file ${collection.file}`;
    const entity = stateTableEntity(collection, tables);
    add({ entity, schema: collection.tableSchema, table: collection.table, origin });
    for (const output of collection.outputs) {
      add({ entity: outputTableEntity(output, tables), schema: output.schema, table: output.table, origin });
    }
  }

  return described;
}

/** The entities of every table of these collections, and of `spillway_tombstones`, in the database of `tables`. */
export function spillwayEntities(collections: readonly Collection[], tables: EntityDialect): EntitySchema[] {
  return describedTables(collections, tables, { withTombstones: true }).map((t) => t.entity);
}
