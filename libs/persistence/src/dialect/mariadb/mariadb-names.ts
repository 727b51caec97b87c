import type { Collection, OutputTable } from '@app/collections';

/** A quoted MariaDB and MySQL identifier: in backticks, a backtick inside doubled. */
export const mariadbQuote = (identifier: string): string => `\`${identifier.replace(/`/g, '``')}\``;

/**
 * The quoted name of a table in a collection file's schema, safe to splice into SQL. The schema is a database there:
 * `public` (the default) is the database of the connection's URL, so its tables go unqualified.
 */
export const mariadbQualified = (schema: string, table: string): string =>
  schema === 'public' ? mariadbQuote(table) : `${mariadbQuote(schema)}.${mariadbQuote(table)}`;

/** A collection's state table. */
export const mariadbStateTable = (collection: Collection): string =>
  mariadbQualified(collection.tableSchema, collection.table);

/** An output's table. */
export const mariadbOutputTable = (output: OutputTable): string => mariadbQualified(output.schema, output.table);
