import type { ColumnType } from '@app/collections';
import type { ColumnType as TypeOrmColumnType } from 'typeorm';

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
