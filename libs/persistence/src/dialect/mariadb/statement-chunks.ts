/**
 * The most values one statement binds: the limit of a prepared statement's placeholders on MariaDB and MySQL. mysql2
 * fills `?` in on the client, so the server counts none, but a batch is kept under the limit all the same, so that a
 * driver that prepares statements never loses a batch to "too many placeholders".
 */
export const MAX_PLACEHOLDERS = 65_535;

/** The most bytes a text takes in a statement, quoted and escaped (mysql2 escapes at most every byte). */
export const quotedBytes = (text: string): number => 2 * Buffer.byteLength(text) + 4;

/** The most bytes a number, or any other short literal, takes in a statement. */
export const LITERAL_BYTES = 24;

/**
 * Splits `rows` into runs that each bind at most {@link MAX_PLACEHOLDERS} values (`valuesPerRow` a row) and take at
 * most `maxBytes` by `bytesOf`'s estimate. Keeps every row, in order: a row larger than `maxBytes` makes a run of its
 * own, which the server then refuses (a content error, for that row alone).
 */
export function chunkRows<T>(
  rows: readonly T[],
  { valuesPerRow, maxBytes, bytesOf }: { valuesPerRow: number; maxBytes: number; bytesOf: (row: T) => number },
): T[][] {
  const maxRows = Math.max(1, Math.floor(MAX_PLACEHOLDERS / valuesPerRow));
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  for (const row of rows) {
    const rowBytes = bytesOf(row);
    if (chunk.length > 0 && (chunk.length >= maxRows || bytes + rowBytes > maxBytes)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(row);
    bytes += rowBytes;
  }
  if (chunk.length > 0) {
    chunks.push(chunk);
  }

  return chunks;
}

/**
 * The most values of an `IN (…)` list: under MariaDB's in_predicate_conversion_threshold (1000), past which it reads
 * the list as a join with a derived table, in the join's order rather than the key's (which matters to locks), and
 * for a DELETE without the key's range.
 */
export const IN_LIST_MAX = 900;
