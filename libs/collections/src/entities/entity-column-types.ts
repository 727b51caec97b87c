import { COLUMN_TYPES, type ColumnType } from '../outputs';

/** The TypeORM column types Spillway takes, lower case, each with the column type it writes (docs/collections.md). */
const TYPEORM_COLUMN_TYPES: Readonly<Record<string, ColumnType>> = {
  varchar: 'text',
  'character varying': 'text',
  text: 'text',
  int: 'integer',
  int4: 'integer',
  integer: 'integer',
  bigint: 'bigint',
  int8: 'bigint',
  numeric: 'numeric',
  decimal: 'numeric',
  'double precision': 'double',
  float8: 'double',
  float: 'double',
  boolean: 'boolean',
  bool: 'boolean',
  timestamptz: 'timestamptz',
  'timestamp with time zone': 'timestamptz',
  date: 'date',
  uuid: 'uuid',
  jsonb: 'jsonb',
  json: 'jsonb',
};

/**
 * A type left out (`@Column() name: string`) is the property's design type, which TypeORM maps for PostgreSQL as
 * here; `Date` is left out, as TypeORM makes it a `timestamp` without a time zone.
 */
const DESIGN_TYPES = new Map<unknown, ColumnType>([
  [String, 'text'],
  [Number, 'integer'],
  [Boolean, 'boolean'],
]);

/** How a TypeORM column type is named in a message: `"varchar"`, `Date`, `undefined`. */
function typeName(type: unknown): string {
  if (typeof type === 'string') return `"${type}"`;
  if (typeof type === 'function') return type.name || 'a function';

  return String(type);
}

/** The column type of a TypeORM column type, or the reason it is refused. */
export function columnTypeOf(type: unknown): ColumnType | { readonly refused: string } {
  const known = typeof type === 'string' ? TYPEORM_COLUMN_TYPES[type.toLowerCase()] : DESIGN_TYPES.get(type);
  if (known !== undefined) return known;
  const taken = Object.keys(TYPEORM_COLUMN_TYPES).join(', ');

  return {
    refused:
      type === undefined
        ? `has no type: give it one (@Column({ type: 'text' })), one of ${taken}`
        : `type ${typeName(type)} is not supported; one of ${taken} (Spillway writes ${COLUMN_TYPES.join(', ')})`,
  };
}
