import { Table } from 'typeorm';
import type { Collection } from '@app/collections';

/** The quoted, schema-qualified table name of a collection, safe to splice into SQL (names are validated at load). */
export function qualifiedTable(collection: Collection): string {
  return `"${collection.tableSchema}"."${collection.table}"`;
}

/** The table layout of CONTRACT.md section 4 for one collection. */
export function collectionTable(collection: Collection): Table {
  const columns =
    collection.kind === 'document'
      ? [
          { name: 'id', type: 'text', isPrimary: true },
          { name: 'version', type: 'bigint', isNullable: false },
          { name: 'doc', type: 'jsonb', isNullable: false },
          { name: 'created_at', type: 'timestamptz', isNullable: false },
          { name: 'updated_at', type: 'timestamptz', isNullable: false },
        ]
      : [
          { name: 'id', type: 'text', isPrimary: true },
          { name: 'doc', type: 'jsonb', isNullable: false },
          { name: 'ingested_at', type: 'timestamptz', isNullable: false },
        ];

  return new Table({ schema: collection.tableSchema, name: collection.table, columns });
}
