import { DEFAULT_CONNECTION } from '@app/contracts';
import type { ProblemSink } from '../collection-file.problem';
import type { BlockDef, ColumnEntryDef, EntityWriteDef } from '../collection-file.schema';
import { fileFormatValidators } from '../collection-file.validators';
import { parseFieldPath } from '../documents/field-path';
import { article } from '../documents/json-type';
import { columnTypeOf } from '../entities/entity-column-types';
import type { EntityCatalog } from '../entities/entity-catalog';
import type { UserEntity, UserEntityColumn } from '../entities/user-entity';
import type { ColumnType, OutputColumn } from '../outputs';
import { onlyUnknownFields, reportSchemaErrors } from '../schema-problems';
import { type ColumnPlan, columnPlan, OutputRows } from './output-rows';
import {
  DEFAULT_OUTPUT_SCHEMA,
  DEFAULT_VERSION_COLUMN,
  excludeOpsOf,
  type OutputContext,
  parseForeach,
} from './relational-write.compiler';

/** A name TypeORM quotes: Spillway's statements quote it too, so camelCase names (`"userId"`) are kept as they are. */
const ENTITY_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Whether an output's `with` names an entity (`entity:`) rather than declaring `table`, `keys` and `columns`. */
export function isEntityWrite(def: BlockDef): boolean {
  return typeof def.with === 'object' && def.with !== null && 'entity' in def.with;
}

/** A column of the entity with the document field it reads and its type. */
interface EntityColumnPlan {
  readonly column: UserEntityColumn;
  readonly field: string;
  readonly type: ColumnType;
}

/** The entity, or undefined after reporting that no module exports it. */
function findEntity(name: string, entities: EntityCatalog | undefined, sink: ProblemSink): UserEntity | undefined {
  if (!entities || entities.modules.length === 0) {
    sink.add('entity', `no entity modules are loaded: set SINK_ENTITIES to the compiled modules exporting "${name}"`);

    return undefined;
  }
  const entity = entities.find(name);
  if (!entity) {
    const known = entities.names().join(', ') || 'none';
    sink.add(
      'entity',
      `entity "${name}" is not exported by any module of SINK_ENTITIES (${entities.modules.join(', ')}; ` +
        `entities found: ${known})`,
    );
  }

  return entity;
}

/** The document field of each property: `mapping` entries, by property name otherwise. */
function fieldsOf(entity: UserEntity, mapping: readonly ColumnEntryDef[], sink: ProblemSink): Map<string, string> {
  const fields = new Map(entity.columns.map((c) => [c.property, c.property]));
  const mapped = new Set<string>();
  mapping.forEach((def, i) => {
    const at = `mapping[${i}]`;
    const pairs = typeof def === 'string' ? [[def, def] as const] : Object.entries(def);
    const [property, field] = pairs[0] ?? [];
    if (pairs.length !== 1 || property === undefined) {
      sink.add(at, 'must be "property" or {property: field.path}, one property to an entry');
    } else if (!fields.has(property)) {
      const properties = entity.columns.map((c) => c.property).join(', ');
      sink.add(at, `entity ${entity.name} has no column property "${property}" (its properties: ${properties})`);
    } else if (mapped.has(property)) {
      sink.add(at, `property "${property}" is already mapped`);
    } else if (typeof field !== 'string') {
      sink.add(at, `the field of property "${property}" must be a field path (a string)`);
    } else {
      const path = parseFieldPath(field);
      if (typeof path === 'string') sink.add(at, path);
      mapped.add(property);
      fields.set(property, field);
    }
  });

  return fields;
}

/** The version column: the entity may declare it (a bigint, not a key), else Spillway adds it to the table. */
function checkVersionColumn(entity: UserEntity, versionColumn: string, sink: ProblemSink): void {
  const declared = entity.columns.find((c) => c.column === versionColumn);
  if (!declared) return;
  const type = columnTypeOf(declared.type);
  if (declared.primary || type !== 'bigint') {
    sink.add(
      'entity',
      `entity ${entity.name}: property ${declared.property} is the version column "${versionColumn}": ` +
        'it must be a bigint column outside the primary key (or set version_column to another name)',
    );
  }
}

/** The entity's columns Spillway fills (all but the version column), typed, or undefined after reporting. */
function planColumns(
  entity: UserEntity,
  fields: ReadonlyMap<string, string>,
  versionColumn: string,
  sink: ProblemSink,
): EntityColumnPlan[] {
  const prefix = `entity ${entity.name}`;
  if (entity.refused) sink.add('entity', `${prefix} ${entity.refused}`);
  if (!ENTITY_NAME.test(entity.table)) sink.add('entity', `${prefix}: table name "${entity.table}" is not supported`);

  return entity.columns.flatMap((column) => {
    if (column.column === versionColumn) return [];
    const where = `${prefix}: property ${column.property}`;
    if (column.refused) {
      sink.add('entity', `${where} ${column.refused}: Spillway writes every column from the document`);

      return [];
    }
    if (!ENTITY_NAME.test(column.column)) {
      sink.add('entity', `${where}: column name "${column.column}" is not supported ([A-Za-z_][A-Za-z0-9_]{0,62})`);

      return [];
    }
    const type = columnTypeOf(column.type);
    if (typeof type !== 'string') {
      sink.add('entity', `${where} ${type.refused}`);

      return [];
    }

    return [{ column, field: fields.get(column.property) ?? column.property, type }];
  });
}

/** The owner columns: primary key columns read from the collection's key field, of type text; at least one. */
function ownerColumns(entity: UserEntity, keys: readonly EntityColumnPlan[], keyField: string, sink: ProblemSink) {
  const owners = keys.filter((key) => key.field === keyField);
  // Unless a key column was refused already: it may be the owner.
  if (owners.length === 0 && keys.length === entity.columns.filter((c) => c.primary).length) {
    const primary = keys.map((key) => key.column.property).join(', ') || 'none';
    sink.add(
      'entity',
      `entity ${entity.name}: its primary key (${primary}) must include a column read from the collection's key ` +
        `field "${keyField}" (a property named ${keyField}, or {property: ${keyField}} in mapping): Spillway finds ` +
        "a document's rows by its id, to replace them on a newer version and remove them on a delete",
    );
  }
  for (const owner of owners) {
    if (owner.type !== 'text') {
      sink.add(
        'entity',
        `entity ${entity.name}: property ${owner.column.property} must be a text column: it holds the document's ` +
          `id as it is (${article(owner.type)} column could give two ids the same rows)`,
      );
    }
  }

  return owners.map((owner) => owner.column.column);
}

/**
 * Compiles `output[index]` when it names a user's entity (`entity:`): the entity's metadata gives the table, its
 * columns, their types and the primary key; `mapping` gives the document field of a property (by default the field
 * of the property's name). The same rules as a declared output hold (owner column, version column). Returns the
 * table with its row maker, or undefined after reporting every problem to `sink` (`output[i]`).
 */
export function compileEntityWrite(
  def: BlockDef,
  index: number,
  context: OutputContext,
  entities: EntityCatalog | undefined,
  sink: ProblemSink,
): OutputRows | undefined {
  const validate = fileFormatValidators().entityWrite;
  const withSink = sink.at('with');
  const before = withSink.count;
  if (!validate(def.with)) {
    reportSchemaErrors(validate.errors, withSink);
    if (!onlyUnknownFields(validate.errors)) return undefined;
  }
  const spec = def.with as unknown as EntityWriteDef;
  const entity = findEntity(spec.entity, entities, withSink);
  if (!entity) return undefined;
  const schema = entity.schema ?? DEFAULT_OUTPUT_SCHEMA;
  if (schema === 'public' && entity.table.startsWith('spillway_')) {
    withSink.add('entity', `entity ${entity.name}: table names starting with spillway_ are reserved for Spillway`);
  }
  const versionColumn = spec.version_column ?? DEFAULT_VERSION_COLUMN;
  const foreach = spec.foreach === undefined ? undefined : parseForeach(spec.foreach, withSink, context.keyField);
  const fields = fieldsOf(entity, spec.mapping ?? [], withSink);
  checkVersionColumn(entity, versionColumn, withSink);
  const planned = planColumns(entity, fields, versionColumn, withSink);
  // The primary key first, then the other columns, each in the entity's order.
  const ordered = [...planned.filter((p) => p.column.primary), ...planned.filter((p) => !p.column.primary)];
  const keys = ordered.filter((p) => p.column.primary);
  const excludeOps = excludeOpsOf(spec, context.kind, withSink);
  const owners = ownerColumns(entity, keys, context.keyField, withSink);
  if (withSink.count > before) return undefined;

  const columns: OutputColumn[] = ordered.map((p) => ({
    name: p.column.column,
    type: p.type,
    isKey: p.column.primary,
  }));
  const plans: ColumnPlan[] = ordered.map((p) =>
    columnPlan(p.field, p.column.primary && owners.includes(p.column.column), foreach?.alias),
  );

  return new OutputRows(
    {
      source: `${context.file}: output[${index}] (entity ${entity.name} of ${entity.module})`,
      schema,
      table: entity.table,
      columns,
      versionColumn,
      ownerColumns: owners,
      isForeach: foreach !== undefined,
      excludeOps,
      connection: spec.connection ?? DEFAULT_CONNECTION,
    },
    plans,
    context.collection,
    foreach?.expression,
  );
}
