import { DEFAULT_CONNECTION } from '@app/contracts';
import type { ProblemSink } from '../collection-file.problem';
import {
  type BlockDef,
  type ColumnEntryDef,
  IDENTIFIER_PATTERN,
  type RelationalWriteDef,
} from '../collection-file.schema';
import { fileFormatValidators } from '../collection-file.validators';
import type { CollectionKind } from '../collection';
import { parseFieldPath } from '../documents/field-path';
import { article } from '../documents/json-type';
import { compileExpression, type Expression, ExpressionError } from '../expressions/expression';
import { COLUMN_TYPES, type ColumnType, type ExcludableOp, type OutputColumn } from '../outputs';
import { onlyUnknownFields, reportSchemaErrors } from '../schema-problems';
import { type ColumnPlan, columnPlan, OutputRows } from './output-rows';

/** The one output block Spillway writes. */
export const RELATIONAL_WRITE = 'relational.write';
export const DEFAULT_OUTPUT_SCHEMA = 'public';
export const DEFAULT_VERSION_COLUMN = 'spillway_version';
const EXCLUDABLE_OPS: readonly ExcludableOp[] = ['delete'];
const IDENTIFIER = new RegExp(IDENTIFIER_PATTERN);
const FOREACH = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:(.*)$/s;

/** What an output's compiler needs to know of its collection. */
export interface OutputContext {
  readonly collection: string;
  readonly kind: CollectionKind;
  readonly keyField: string;
  readonly file: string;
}

/** A key or mapping entry, parsed. */
interface ColumnEntry {
  readonly column: string;
  /** The field path as written. */
  readonly field: string;
  /** Where it is in the file: `keys[1]`, `mapping[0]`. */
  readonly at: string;
}

function isColumnType(type: string): type is ColumnType {
  return (COLUMN_TYPES as readonly string[]).includes(type);
}

/**
 * `"column"` or `{column: field.path}` (RDI's form), or undefined after reporting why not. A valid column name is
 * added to `named` even when its field is not, so that its type in `columns` is not reported as well.
 */
function parseEntry(def: ColumnEntryDef, at: string, sink: ProblemSink, named: Set<string>): ColumnEntry | undefined {
  let column: string;
  let field: unknown;
  if (typeof def === 'string') {
    column = def;
    field = def;
  } else {
    const pairs = Object.entries(def);
    if (pairs.length !== 1) {
      sink.add(at, 'must be "column" or {column: field.path}, one column to an entry');

      return undefined;
    }
    [column, field] = pairs[0] as [string, unknown];
  }
  if (!IDENTIFIER.test(column)) {
    sink.add(
      at,
      typeof def === 'string'
        ? `"${column}" is not a column name ([a-z_][a-z0-9_]{0,62}); name the column: {some_name: ${column}}`
        : `"${column}" is not a column name ([a-z_][a-z0-9_]{0,62})`,
    );

    return undefined;
  }
  named.add(column);
  if (typeof field !== 'string') {
    sink.add(at, `the field of column "${column}" must be a field path (a string)`);

    return undefined;
  }
  const path = parseFieldPath(field);
  if (typeof path === 'string') {
    sink.add(at, path);

    return undefined;
  }

  return { column, field, at };
}

/** The foreach alias and expression, or undefined after reporting why not. */
export function parseForeach(
  text: string,
  sink: ProblemSink,
  keyField: string,
): { alias: string; expression: Expression } | undefined {
  const m = FOREACH.exec(text);
  if (!m) {
    sink.add('foreach', 'must be "alias: expression", e.g. "screen: screens[]"');

    return undefined;
  }
  const alias = m[1] as string;
  if (alias === keyField) {
    sink.add('foreach', `the alias "${alias}" would hide the collection's key field; choose another name`);

    return undefined;
  }
  try {
    return { alias, expression: compileExpression((m[2] as string).trim(), undefined) };
  } catch (e) {
    if (!(e instanceof ExpressionError)) throw e;
    sink.add('foreach', e.message);

    return undefined;
  }
}

/** The key and mapped columns of an output, parsed from `keys`, `mapping` and `columns`. */
interface ParsedColumns {
  readonly keys: readonly ColumnEntry[];
  readonly mapped: readonly ColumnEntry[];
  readonly types: ReadonlyMap<string, ColumnType>;
}

/** Parses `keys` and `mapping` and types them from `columns`, reporting every problem. */
function parseColumns(spec: RelationalWriteDef, sink: ProblemSink): ParsedColumns {
  const named = new Set<string>();
  const keys = spec.keys.flatMap((def, i) => parseEntry(def, `keys[${i}]`, sink, named) ?? []);
  const byColumn = new Map<string, ColumnEntry>();
  for (const entry of keys) {
    if (byColumn.has(entry.column)) sink.add(entry.at, `column "${entry.column}" is already a key`);
    byColumn.set(entry.column, entry);
  }
  const keyEntries = new Set(keys);
  const mapped: ColumnEntry[] = [];
  (spec.mapping ?? []).forEach((def, i) => {
    const entry = parseEntry(def, `mapping[${i}]`, sink, named);
    if (!entry) return;
    const known = byColumn.get(entry.column);
    // RDI's examples repeat the keys in mapping.
    if (known && keyEntries.has(known) && known.field === entry.field) return;
    if (known) {
      sink.add(entry.at, `column "${entry.column}" is already mapped by ${known.at}`);

      return;
    }
    byColumn.set(entry.column, entry);
    mapped.push(entry);
  });

  const types = new Map<string, ColumnType>();
  for (const [column, type] of Object.entries(spec.columns)) {
    if (!isColumnType(type)) {
      sink.add(`columns.${column}`, `unknown type "${type}"; one of ${COLUMN_TYPES.join(', ')}`);
    } else if (!named.has(column)) {
      sink.add(`columns.${column}`, 'is neither a key nor a mapped column');
    } else {
      types.set(column, type);
    }
  }
  for (const entry of byColumn.values()) {
    if (!Object.hasOwn(spec.columns, entry.column)) {
      sink.add(entry.at, `column "${entry.column}" has no type: add it to columns`);
    }
  }

  return { keys, mapped, types };
}

/**
 * The owner columns: the keys mapped from the collection's key field, by which the rows of a document are found, to
 * replace them on a newer version and to remove them on a delete. There must be one, of type text.
 */
function ownerColumns(spec: RelationalWriteDef, parsed: ParsedColumns, keyField: string, sink: ProblemSink): string[] {
  const owners = parsed.keys.filter((entry) => entry.field === keyField);
  // Unless a key could not be read: it may be the owner.
  if (owners.length === 0 && parsed.keys.length === spec.keys.length) {
    sink.add(
      'keys',
      `must include the collection's key field "${keyField}" (as ${keyField} or {some_column: ${keyField}}): ` +
        "Spillway finds a document's rows by its id, to replace them on a newer version and remove them on a delete",
    );
  }
  for (const owner of owners) {
    const type = parsed.types.get(owner.column);
    if (type !== undefined && type !== 'text') {
      sink.add(
        `columns.${owner.column}`,
        `must be text: it holds the document's id as it is (${article(type)} column could give two ids the same rows)`,
      );
    }
  }

  return owners.map((owner) => owner.column);
}

/** The version column, checked against the columns. */
function versionColumnOf(spec: RelationalWriteDef, parsed: ParsedColumns, sink: ProblemSink): string {
  const versionColumn = spec.version_column ?? DEFAULT_VERSION_COLUMN;
  const clash = [...parsed.keys, ...parsed.mapped].find((entry) => entry.column === versionColumn);
  if (clash) {
    sink.add(
      spec.version_column === undefined ? clash.at : 'version_column',
      `column "${versionColumn}" is the version column Spillway adds; rename the column or set version_column`,
    );
  }

  return versionColumn;
}

/** `exclude_ops`, checked: only delete, and only for documents. */
export function excludeOpsOf(
  spec: Pick<RelationalWriteDef, 'exclude_ops'>,
  kind: CollectionKind,
  sink: ProblemSink,
): ExcludableOp[] {
  const ops = [...new Set(spec.exclude_ops ?? [])];
  ops.forEach((op, i) => {
    if (!(EXCLUDABLE_OPS as readonly string[]).includes(op)) {
      sink.add(`exclude_ops[${i}]`, `"${op}" cannot be excluded; only ${EXCLUDABLE_OPS.join(', ')}`);
    }
  });
  if (kind === 'event' && ops.length > 0) {
    sink.add('exclude_ops', 'events are never deleted: exclude_ops is for document collections');
  }

  return ops as ExcludableOp[];
}

/**
 * Compiles `output[index]`: checks every rule of docs/collections.md (names, types, the owner column, the version
 * column) and returns its table with a row maker; undefined after reporting every problem to `sink` (`output[i]`).
 */
export function compileRelationalWrite(
  def: BlockDef,
  index: number,
  context: OutputContext,
  sink: ProblemSink,
): OutputRows | undefined {
  if (def.uses !== RELATIONAL_WRITE) {
    sink.add('uses', `unknown output "${def.uses}"; Spillway writes ${RELATIONAL_WRITE} outputs`);

    return undefined;
  }
  const validate = fileFormatValidators().relationalWrite;
  const withSink = sink.at('with');
  const before = withSink.count;
  if (!validate(def.with)) {
    reportSchemaErrors(validate.errors, withSink);
    if (!onlyUnknownFields(validate.errors)) return undefined;
  }
  const spec = def.with as unknown as RelationalWriteDef;
  const schema = spec.schema ?? DEFAULT_OUTPUT_SCHEMA;
  if (schema === 'public' && spec.table.startsWith('spillway_')) {
    withSink.add('table', 'names starting with spillway_ are reserved for Spillway');
  }
  const foreach = spec.foreach === undefined ? undefined : parseForeach(spec.foreach, withSink, context.keyField);
  const parsed = parseColumns(spec, withSink);
  const versionColumn = versionColumnOf(spec, parsed, withSink);
  const excludeOps = excludeOpsOf(spec, context.kind, withSink);
  const owners = ownerColumns(spec, parsed, context.keyField, withSink);
  if (withSink.count > before) return undefined;

  // Keys first, then the mapped columns.
  const entries = [...parsed.keys, ...parsed.mapped];
  const columns: OutputColumn[] = entries.map((entry, i) => ({
    name: entry.column,
    type: parsed.types.get(entry.column) as ColumnType,
    isKey: i < parsed.keys.length,
  }));
  const plans: ColumnPlan[] = entries.map((entry, i) =>
    columnPlan(entry.field, i < parsed.keys.length && owners.includes(entry.column), foreach?.alias),
  );

  return new OutputRows(
    {
      source: `${context.file}: output[${index}]`,
      schema,
      table: spec.table,
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
