import { EntitySchema, type EntitySchemaColumnOptions } from 'typeorm';
import type { Collection } from '@app/collections';
import { tableEntityName } from './entity-name';

/**
 * The state table of a collection (CONTRACT.md section 4): `id, version, doc, created_at, updated_at` for documents,
 * `id, doc, ingested_at` for events. Its constraint names are those TypeORM gives a table made from this entity,
 * which are also those of a table the releases before typed outputs made with `QueryRunner.createTable`
 * (schema/schema-provisioning.int-spec.ts holds the proof): those tables need no change.
 */
export function stateTableEntity(collection: Collection): EntitySchema {
  const columns: Record<string, EntitySchemaColumnOptions> =
    collection.kind === 'document'
      ? {
          id: { type: 'text', primary: true },
          version: { type: 'bigint' },
          doc: { type: 'jsonb' },
          created_at: { type: 'timestamptz' },
          updated_at: { type: 'timestamptz' },
        }
      : {
          id: { type: 'text', primary: true },
          doc: { type: 'jsonb' },
          ingested_at: { type: 'timestamptz' },
        };

  return new EntitySchema({
    name: tableEntityName(collection.tableSchema, collection.table),
    schema: collection.tableSchema,
    tableName: collection.table,
    columns,
  });
}
