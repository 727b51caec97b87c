import type { ColumnType } from '@app/collections';
import type { ColumnType as TypeOrmColumnType } from 'typeorm';
import type { EntityDialect } from './entity-dialect';

/** The PostgreSQL type of each column type a collection file may declare (docs/collections.md). */
export const POSTGRES_COLUMN_TYPES: Readonly<Record<ColumnType, TypeOrmColumnType>> = {
  text: 'text',
  integer: 'integer',
  bigint: 'bigint',
  numeric: 'numeric',
  double: 'double precision',
  boolean: 'boolean',
  timestamptz: 'timestamptz',
  date: 'date',
  uuid: 'uuid',
  jsonb: 'jsonb',
};

/** PostgreSQL's tables: its own type names, `text` keys, and a collection file's schema as the table's schema. */
export const postgresEntityDialect: EntityDialect = {
  columnTypes: Object.fromEntries(
    Object.entries(POSTGRES_COLUMN_TYPES).map(([type, name]) => [type, { type: name }]),
  ) as EntityDialect['columnTypes'],
  keyText: { type: 'text' },
  tableLocation: (schema) => ({ schema }),
};
