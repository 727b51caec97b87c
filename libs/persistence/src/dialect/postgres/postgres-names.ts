import { escapeIdentifier } from 'pg';
import type { Collection, OutputTable } from '@app/collections';

/** The quoted, schema-qualified name of a table, safe to splice into SQL. */
export const postgresQualified = (schema: string, table: string): string =>
  `${escapeIdentifier(schema)}.${escapeIdentifier(table)}`;

/** A collection's state table (names are validated at load). */
export const postgresTable = (collection: Collection): string =>
  postgresQualified(collection.tableSchema, collection.table);

/** An output's table. */
export const outputTableName = (output: OutputTable): string => postgresQualified(output.schema, output.table);
