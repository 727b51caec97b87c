import type { ColumnType } from '@app/collections';
import type { ColumnTypeOptions, EntityDialect } from '../../entities/entity-dialect';

/** Text, as PostgreSQL's `text` holds it: any Unicode character, compared byte for byte (ids are case-sensitive). */
const UNICODE_BINARY = { charset: 'utf8mb4', collation: 'utf8mb4_bin' } as const;

/**
 * The MariaDB and MySQL column of each type a collection file may declare (docs/collections.md), outside a primary
 * key. Written so that MySQL 8.0 makes the same tables as MariaDB 10.11:
 * - `jsonb` is `json`: MariaDB makes it a LONGTEXT with a JSON_VALID check, MySQL its binary JSON;
 * - `timestamptz` is `datetime(6)`, in UTC (sessions run with time_zone '+00:00'): `timestamp` would end in 2038;
 * - `numeric` is `decimal(65,30)`, the widest both take: 35 digits before the point and 30 after (PostgreSQL's
 *   `numeric` has no fixed scale: more decimals are rounded, a larger number is refused as content);
 * - `uuid` is `char(36)` in ASCII (MariaDB's own `uuid` type, from 10.7, is not MySQL's);
 * - `boolean` is `tinyint`, as TypeORM writes it (MariaDB shows tinyint(4), MySQL 8.0.19 and later tinyint).
 */
export const MARIADB_COLUMN_TYPES: Readonly<Record<ColumnType, ColumnTypeOptions>> = {
  text: { type: 'longtext', ...UNICODE_BINARY },
  integer: { type: 'int' },
  bigint: { type: 'bigint' },
  numeric: { type: 'decimal', precision: 65, scale: 30 },
  double: { type: 'double' },
  boolean: { type: 'boolean' },
  timestamptz: { type: 'datetime', precision: 6 },
  date: { type: 'date' },
  uuid: { type: 'char', length: 36, charset: 'ascii', collation: 'ascii_bin' },
  jsonb: { type: 'json' },
};

/**
 * A text column in a primary key: `varchar(255)` (a LONGTEXT cannot be a key). Three such columns fit InnoDB's
 * 3072-byte key (4 bytes a character in utf8mb4). utf8mb4_bin pads with spaces when it compares ('a' = 'a '); ids
 * hold no spaces (the ingest's id pattern), an output's text key could: MySQL's NO PAD utf8mb4_0900_bin and
 * MariaDB's utf8mb4_nopad_bin have no name in common.
 */
export const MARIADB_KEY_TEXT: ColumnTypeOptions = { type: 'varchar', length: 255, ...UNICODE_BINARY };

/**
 * Where a table of a collection file's schema lives on MariaDB and MySQL, which have databases where PostgreSQL has
 * schemas: `public` (the default) is the database of the connection's URL, any other schema a database of its name.
 */
export function mariadbTableLocation(schema: string): { database?: string } {
  return schema === 'public' ? {} : { database: schema };
}

/** MariaDB's and MySQL's tables: see {@link MARIADB_COLUMN_TYPES}, {@link MARIADB_KEY_TEXT}. */
export const mariadbEntityDialect: EntityDialect = {
  columnTypes: MARIADB_COLUMN_TYPES,
  keyText: MARIADB_KEY_TEXT,
  tableLocation: mariadbTableLocation,
};
