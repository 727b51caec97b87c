import type { ColumnType, OutputColumn, OutputTable } from '@app/collections';

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?$/;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const INT4 = 2n ** 31n;
const INT8 = 2n ** 63n;

const within = (id: string, bound: bigint): boolean => {
  const n = BigInt(id);

  return n >= -bound && n < bound;
};

/**
 * A document id as the value of an owner column of the given type, in the text the database parses; undefined when
 * the database would refuse it, so that no document could have rows under it (its projection was refused too).
 */
export function ownerKey(type: ColumnType, id: string): string | undefined {
  switch (type) {
    case 'text':
      return id;
    case 'uuid':
      return UUID.test(id) ? id : undefined;
    case 'integer':
      return INTEGER.test(id) && within(id, INT4) ? id : undefined;
    case 'bigint':
      return INTEGER.test(id) && within(id, INT8) ? id : undefined;
    case 'numeric':
      return DECIMAL.test(id) ? id : undefined;
    case 'double':
      // The database refuses what overflows or underflows a double.
      return DECIMAL.test(id) &&
        Number.isFinite(Number(id)) &&
        (Number(id) !== 0 || !/[1-9]/.test(id.split(/e/i)[0] ?? ''))
        ? id
        : undefined;
    case 'jsonb':
      return JSON.stringify(id);
    case 'boolean':
    case 'timestamptz':
    case 'date':
      throw new Error(`a document id cannot key a ${type} column`);
  }
}

/**
 * The owner column the rows of a document are found by: the first key column that holds the document's id, so that
 * the primary key's index serves the lookup whenever it can.
 */
export function ownerColumn(output: OutputTable): OutputColumn {
  const column =
    output.columns.find((c) => c.isKey && output.ownerColumns.includes(c.name)) ??
    output.columns.find((c) => c.name === output.ownerColumns[0]);
  if (column === undefined) {
    throw new Error(`${output.source}: no owner column among the columns of ${output.table}`);
  }

  return column;
}
