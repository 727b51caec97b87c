import { EntitySchema, type EntitySchemaColumnOptions } from 'typeorm';
import type { Collection } from '@app/collections';
import type { EntityDialect } from './entity-dialect';
import { tableEntityName } from './entity-name';

/**
 * The state table of a collection (CONTRACT.md section 4) in the database of `tables`: `id, version, doc,
 * created_at, updated_at` for documents, `id, doc, ingested_at` for events. On PostgreSQL (text, bigint, jsonb,
 * timestamptz) its constraint names are those TypeORM gives a table made from this entity, which are also those of
 * a table the releases before typed outputs made with `QueryRunner.createTable`
 * (schema/schema-provisioning.int-spec.ts holds the proof): those tables need no change.
 */
export function stateTableEntity(collection: Collection, tables: EntityDialect): EntitySchema {
  const { bigint, jsonb, timestamptz } = tables.columnTypes;
  const columns: Record<string, EntitySchemaColumnOptions> =
    collection.kind === 'document'
      ? {
          id: { ...tables.keyText, primary: true },
          version: { ...bigint },
          doc: { ...jsonb },
          created_at: { ...timestamptz },
          updated_at: { ...timestamptz },
        }
      : {
          id: { ...tables.keyText, primary: true },
          doc: { ...jsonb },
          ingested_at: { ...timestamptz },
        };

  return new EntitySchema({
    name: tableEntityName(collection.tableSchema, collection.table),
    ...tables.tableLocation(collection.tableSchema),
    tableName: collection.table,
    columns,
  });
}
