import { type FieldPath, getPath, getPathFrom, type JsonObject } from '../documents/field-path';
import { type Expression, firstLine } from '../expressions/expression';
import type { ColumnValue, OutputRow, OutputTable } from '../outputs';
import { COLUMN_CONVERTERS, type ColumnConverter, ConversionRefusal } from './column-conversions';

/** Where a column's value comes from. */
export type ColumnSource =
  /** The document's id (an owner column). */
  | { readonly kind: 'id' }
  /** A field of the (transformed) document. */
  | { readonly kind: 'field'; readonly path: FieldPath }
  /** A field of the foreach element: `path[0]` is the alias. */
  | { readonly kind: 'element'; readonly path: FieldPath };

/** A column of an output with its source, as compiled from `keys`, `mapping` and `columns`. */
export interface ColumnPlan {
  readonly source: ColumnSource;
  /** The field path as written, for messages. */
  readonly field: string;
}

/**
 * Where a column's value comes from: an owner key column holds the document's id; a path under the foreach alias
 * reads the array element; anything else reads the (transformed) document.
 */
export function columnPlan(field: string, isOwner: boolean, foreachAlias: string | undefined): ColumnPlan {
  const path = field.split('.');
  const source: ColumnSource = isOwner
    ? { kind: 'id' }
    : foreachAlias !== undefined && path[0] === foreachAlias
      ? { kind: 'element', path }
      : { kind: 'field', path };

  return { source, field };
}

/** A document that cannot be projected: the reason names collection, table, column and type, never a value. */
export class ProjectionFailure extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = this.constructor.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

interface PreparedColumn {
  readonly name: string;
  readonly type: string;
  readonly isKey: boolean;
  readonly source: ColumnSource;
  readonly field: string;
  readonly convert: ColumnConverter;
  /** Reads the column's value from the document, its id or the foreach element; built once from `source`. */
  readonly read: (doc: JsonObject, id: string, element: unknown) => unknown;
}

/** A reader of a column's source, built once per column, so that a row does not dispatch on the source's kind. */
function readerOf(source: ColumnSource): PreparedColumn['read'] {
  switch (source.kind) {
    case 'id':
      return (_doc, id) => id;
    case 'field': {
      const { path } = source;
      if (path.length === 1) {
        const name = path[0] as string;

        return (doc) => (Object.hasOwn(doc, name) ? doc[name] : undefined);
      }

      return (doc) => getPath(doc, path);
    }
    case 'element': {
      const { path } = source;

      return (_doc, _id, element) => getPathFrom(element, path, 1);
    }
  }
}

/** Makes the rows of one output table from documents. */
export class OutputRows {
  private readonly columns: readonly PreparedColumn[];
  private readonly prefix: string;
  private readonly keyIndexes: readonly number[];
  /** The key columns whose value can differ between the rows of one document: those not holding its id. */
  private readonly elementKeyIndexes: readonly number[];

  constructor(
    readonly table: OutputTable,
    plans: readonly ColumnPlan[],
    collection: string,
    /** The foreach expression, for a foreach output. */
    private readonly foreach?: Expression,
  ) {
    this.columns = table.columns.map((column, i) => {
      const plan = plans[i] as ColumnPlan;

      return {
        ...column,
        source: plan.source,
        field: plan.field,
        convert: COLUMN_CONVERTERS[column.type],
        read: readerOf(plan.source),
      };
    });
    const name = table.schema === 'public' ? table.table : `${table.schema}.${table.table}`;
    this.prefix = `collection ${collection}: table ${name}`;
    this.keyIndexes = table.columns.flatMap((column, i) => (column.isKey ? [i] : []));
    this.elementKeyIndexes = this.keyIndexes.filter((i) => this.columns[i]?.source.kind !== 'id');
  }

  /** The rows of `doc` (transformed, holding `id` in its key field); throws {@link ProjectionFailure}. */
  rows(doc: JsonObject, id: string): OutputRow[] {
    if (!this.foreach) return [this.row(doc, id, undefined)];
    let elements: unknown;
    try {
      elements = this.foreach.evaluate(doc);
    } catch (e) {
      throw new ProjectionFailure(`${this.prefix}: foreach: ${firstLine(e)}`);
    }
    // RDI: an expression that gives no array gives no rows.
    if (!Array.isArray(elements)) return [];
    const rows = new Array<OutputRow>(elements.length);
    for (let i = 0; i < elements.length; i++) {
      rows[i] = this.row(doc, id, elements[i]);
    }
    this.assertKeysDiffer(rows);

    return rows;
  }

  private row(doc: JsonObject, id: string, element: unknown): OutputRow {
    const { columns } = this;
    const row = new Array<ColumnValue>(columns.length);
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i] as PreparedColumn;
      const value = column.read(doc, id, element);
      if (value === undefined || value === null) {
        if (column.isKey) {
          throw new ProjectionFailure(
            `${this.prefix}: key column ${column.name} (${column.type}) has no value: field ${column.field} is missing or null`,
          );
        }
        row[i] = null;
        continue;
      }
      const converted = column.convert(value);
      if (converted instanceof ConversionRefusal) {
        throw new ProjectionFailure(`${this.prefix}: column ${column.name} (${column.type}): ${converted.reason}`);
      }
      row[i] = converted;
    }

    return row;
  }

  private assertKeysDiffer(rows: readonly OutputRow[]): void {
    if (rows.length < 2) return;
    // The columns holding the document's id are the same in every row. A column's converter gives one JS type (and
    // never null to a key), so one such column's values tell keys apart as they are, and several joined by NUL (which
    // no text of theirs holds) as JSON.stringify of them would, at a fraction of its cost.
    const [only, ...more] = this.elementKeyIndexes;
    const keyOf =
      only === undefined
        ? () => ''
        : more.length === 0
          ? (row: OutputRow) => row[only]
          : (row: OutputRow) => this.elementKeyIndexes.map((i) => String(row[i])).join('\u0000');
    const seen = new Set<unknown>();
    for (const row of rows) {
      const key = keyOf(row);
      if (seen.has(key)) {
        const names = this.keyIndexes.map((i) => this.columns[i]?.name).join(', ');
        throw new ProjectionFailure(`${this.prefix}: two elements of foreach give the same key (${names})`);
      }
      seen.add(key);
    }
  }
}
