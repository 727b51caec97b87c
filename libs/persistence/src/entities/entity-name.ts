/**
 * The name of the entity of a table: its schema-qualified path, which TypeORM's `getMetadata('<schema>.<table>')`
 * also finds by. Unique in a data source because a table path is.
 */
export function tableEntityName(schema: string, table: string): string {
  return `${schema}.${table}`;
}
