import { EntitySchema, type EntitySchemaColumnOptions, type EntitySchemaIndexOptions } from 'typeorm';
import type { OutputTable } from '@app/collections';
import { columnOptions, type EntityDialect } from './entity-dialect';
import { tableEntityName } from './entity-name';

/**
 * PostgreSQL cuts longer identifiers, which would make the index's name differ from the entity's on every start
 * (MariaDB and MySQL refuse names over 64 characters).
 */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * The name of an output's owner index: readable when it fits, else TypeORM's hashed default (which always does).
 */
function ownerIndexName(output: OutputTable): string | undefined {
  const name = `IDX_${output.table}_owner`;

  return Buffer.byteLength(name) <= MAX_IDENTIFIER_BYTES ? name : undefined;
}

/**
 * The index that finds a document's rows (to replace or remove them), unless the primary key already starts with
 * the owner columns and serves that lookup: a second index would only slow every write down.
 */
function ownerIndex(output: OutputTable): EntitySchemaIndexOptions[] {
  const keys = output.columns.filter((c) => c.isKey).map((c) => c.name);
  const leading = new Set(keys.slice(0, output.ownerColumns.length));
  const served = output.ownerColumns.every((owner) => leading.has(owner));

  return served ? [] : [{ name: ownerIndexName(output), columns: [...output.ownerColumns] }];
}

/**
 * The entity of a `relational.write` output in the database of `tables`: its key columns are the primary key, every
 * other column is nullable (a field missing from the document is NULL, and a column added later holds NULL in older
 * rows), and the version column is a `bigint NOT NULL` after them.
 */
export function outputTableEntity(output: OutputTable, tables: EntityDialect): EntitySchema {
  const columns: Record<string, EntitySchemaColumnOptions> = {};
  for (const column of output.columns) {
    columns[column.name] = column.isKey
      ? { ...columnOptions(tables, column.type, true), primary: true }
      : { ...columnOptions(tables, column.type, false), nullable: true };
  }
  if (output.versionColumn in columns) {
    throw new Error(`${output.source}: version column ${output.versionColumn} is also a mapped column`);
  }
  columns[output.versionColumn] = { ...tables.columnTypes.bigint };

  return new EntitySchema({
    name: tableEntityName(output.schema, output.table),
    ...tables.tableLocation(output.schema),
    tableName: output.table,
    columns,
    indices: ownerIndex(output),
  });
}
