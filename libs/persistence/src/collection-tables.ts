import type { Collection } from '@app/collections';

/** The quoted, schema-qualified table name of a collection, safe to splice into SQL (names are validated at load). */
export function qualifiedTable(collection: Collection): string {
  return `"${collection.tableSchema}"."${collection.table}"`;
}
