/** An element as an array literal holds it: a string quoted, with its quotes and backslashes escaped. */
function quoted(text: string): string {
  return text.includes('"') || text.includes('\\') ? `"${text.replace(/["\\]/g, '\\$&')}"` : `"${text}"`;
}

/** One element of an array literal: see {@link arrayLiteral}. */
export function arrayElement(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quoted(value);
    case 'number':
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return 'NULL';
    case 'object':
      // As the driver sends an object: its JSON.
      return value === null ? 'NULL' : quoted(JSON.stringify(value));
    case 'function':
    case 'symbol':
      throw new Error(`a ${typeof value} is not a column value`);
  }
}

/**
 * The text of a PostgreSQL array literal (`{1,NULL,"a \"b\""}`) holding `values`, for a parameter cast to the column
 * type's array. node-postgres builds the same text from an array parameter, but inspects and escapes every element
 * through a generic path: for the rows of an output table that was about a third of the sink's cost of sending them.
 * Numbers go unquoted, every string quoted (so that "NULL" or "" stays a string), null and undefined as NULL.
 */
export function arrayLiteral(values: readonly unknown[]): string {
  let text = '{';
  for (let i = 0; i < values.length; i++) {
    text += i === 0 ? arrayElement(values[i]) : `,${arrayElement(values[i])}`;
  }

  return `${text}}`;
}
