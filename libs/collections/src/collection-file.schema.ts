import { type Durability, DURABILITY_LEVELS, MAX_PARTITIONS } from '@app/contracts';

/**
 * JSON Schemas of a collection file (CONTRACT.md section 2, docs/collections.md): the file itself, each `transform`
 * block's `with` and a `relational.write` output's `with`. They check shapes only (required and known fields, JSON
 * types); the rules between fields (names, paths, types, expressions) are checked in code, with their own messages.
 */

/** A table, schema or column name as Spillway creates it: unquoted, lower case, at most 63 bytes. */
export const IDENTIFIER_PATTERN = '^[a-z_][a-z0-9_]{0,62}$';

/** A connection's name (`default`, or one of SPILLWAY_CONNECTIONS). */
export const CONNECTION_PATTERN = '^[a-z][a-z0-9_]{0,31}$';

/** One block of `transform` or `output`: RDI's `uses` and `with`. */
const blockSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['uses', 'with'],
  properties: { uses: { type: 'string' }, with: { type: 'object' } },
} as const;

export const collectionFileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind'],
  properties: {
    name: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' },
    kind: { enum: ['document', 'event'] },
    table: { type: 'string', pattern: '^([a-z_][a-z0-9_]{0,62}\\.)?[a-z_][a-z0-9_]{0,62}$' },
    key: { type: 'string', minLength: 1, maxLength: 200 },
    partitions: { type: 'integer', minimum: 1, maximum: MAX_PARTITIONS },
    durability: { enum: DURABILITY_LEVELS },
    schema: { type: 'object' },
    transform: { type: 'array', items: blockSchema },
    output: { type: 'array', items: blockSchema },
  },
} as const;

/** `language` and `expression` of a block that evaluates an expression (RDI: language is required; here jmespath is the default). */
const expressionProperties = {
  expression: { type: 'string', minLength: 1 },
  language: { type: 'string' },
} as const;

const addOneField = {
  type: 'object',
  additionalProperties: false,
  required: ['field', 'expression'],
  properties: { field: { type: 'string' }, ...expressionProperties },
} as const;

const removeOneField = {
  type: 'object',
  additionalProperties: false,
  required: ['field'],
  properties: { field: { type: 'string' } },
} as const;

const renameOneField = {
  type: 'object',
  additionalProperties: false,
  required: ['from_field', 'to_field'],
  properties: { from_field: { type: 'string' }, to_field: { type: 'string' } },
} as const;

/** RDI's two forms of a field block: one field in `with`, or a `fields` list of them. */
function oneOrList(one: object) {
  return {
    if: { type: 'object', required: ['fields'] },
    then: {
      type: 'object',
      additionalProperties: false,
      required: ['fields'],
      properties: { fields: { type: 'array', minItems: 1, items: one } },
    },
    else: one,
  } as const;
}

/** The `with` of each transform block, by its `uses`. */
export const transformBlockSchemas = {
  add_field: oneOrList(addOneField),
  remove_field: oneOrList(removeOneField),
  rename_field: oneOrList(renameOneField),
  map: {
    type: 'object',
    additionalProperties: false,
    required: ['expression'],
    properties: { expression: { type: ['string', 'object'], minLength: 1 }, language: { type: 'string' } },
  },
  filter: {
    type: 'object',
    additionalProperties: false,
    required: ['expression'],
    properties: expressionProperties,
  },
} as const;

export type TransformBlockUses = keyof typeof transformBlockSchemas;

/** The `with` of a `relational.write` output. */
export const relationalWriteSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['table', 'keys', 'columns'],
  properties: {
    schema: { type: 'string', pattern: IDENTIFIER_PATTERN },
    table: { type: 'string', pattern: IDENTIFIER_PATTERN },
    keys: { type: 'array', minItems: 1, items: { type: ['string', 'object'] } },
    mapping: { type: 'array', items: { type: ['string', 'object'] } },
    columns: { type: 'object', minProperties: 1, additionalProperties: { type: 'string' } },
    foreach: { type: 'string' },
    exclude_ops: { type: 'array', items: { type: 'string' } },
    version_column: { type: 'string', pattern: IDENTIFIER_PATTERN },
    connection: { type: 'string', pattern: CONNECTION_PATTERN },
  },
} as const;

/**
 * The `with` of a `relational.write` output that names a user's TypeORM entity (SINK_ENTITIES) instead of
 * `table`, `keys` and `columns`: the entity's metadata gives those.
 */
export const entityWriteSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['entity'],
  properties: {
    entity: { type: 'string', minLength: 1 },
    mapping: relationalWriteSchema.properties.mapping,
    foreach: relationalWriteSchema.properties.foreach,
    exclude_ops: relationalWriteSchema.properties.exclude_ops,
    version_column: relationalWriteSchema.properties.version_column,
    connection: relationalWriteSchema.properties.connection,
  },
} as const;

/** One `transform` or `output` block as written. */
export interface BlockDef {
  uses: string;
  with: Record<string, unknown>;
}

export interface CollectionFile {
  name: string;
  kind: 'document' | 'event';
  table?: string;
  key?: string;
  partitions?: number;
  durability?: Durability;
  schema?: Record<string, unknown>;
  transform?: BlockDef[];
  output?: BlockDef[];
}

/** A key or mapping entry in RDI's form: `"column"` (the field of the same name) or `{column: field.path}`. */
export type ColumnEntryDef = string | Record<string, unknown>;

/** A `relational.write` output's `with`, once {@link relationalWriteSchema} holds. */
export interface RelationalWriteDef {
  schema?: string;
  table: string;
  keys: ColumnEntryDef[];
  mapping?: ColumnEntryDef[];
  columns: Record<string, string>;
  foreach?: string;
  exclude_ops?: string[];
  version_column?: string;
  connection?: string;
}

/** An entity output's `with`, once {@link entityWriteSchema} holds. */
export interface EntityWriteDef {
  entity: string;
  mapping?: ColumnEntryDef[];
  foreach?: string;
  exclude_ops?: string[];
  version_column?: string;
  connection?: string;
}
