/**
 * Rows of a multi-row `VALUES ?` written as SQL literals by the dialect itself, for the state tables' writes, where
 * every entry is a row and the formatting is most of the client's work.
 *
 * Why not mysql2's format: it walks each character of a text in JavaScript and escapes every `"` of a JSON document.
 * A text with no backslash, quote or NUL goes quoted as it is instead (found by one native regex test), which reads
 * the same under every sql_mode (also NO_BACKSLASH_ESCAPES); any other text goes as `_utf8mb4 X'…'`, its UTF-8 bytes
 * in hex (native too), which needs no escaping at all. The introducer makes it a utf8mb4 text, which MySQL 8's json
 * columns require (a binary string is refused there). Measured on MariaDB 10.11 (2 shared cores), 500-row
 * statements of 300-byte JSON documents, each its own commit, from one client: mysql2's format 18-20 CPU-s of the
 * client a million rows, every text in hex 7.6-9; mariadbd 18-37 against 13.5-22. The sink's documents (most
 * quoted as they are): 20.6-21.1 CPU-s of the client a million first writes before, 13.4-14.0 after.
 */
import { escape } from 'mysql2';

/** A text needs hex when it holds a quote, NUL or a backslash (an escape under the default sql_mode only). */
const NEEDS_HEX = /['\\\0]/;

/** A text value as a literal: quoted as it is, or in hex (a lone surrogate becomes U+FFFD, as mysql2 sends it). */
export const textLiteral = (text: string): string =>
  NEEDS_HEX.test(text) ? `_utf8mb4 X'${Buffer.from(text, 'utf8').toString('hex')}'` : `'${text}'`;

/** The most bytes a literal of `length` UTF-16 code units takes in UTF-8 (three a code unit). */
export const literalBytesAtMost = (length: number): number => 3 * length;

/**
 * A number (a version, milliseconds since the epoch), as mysql2 writes it: one out of the column's range (2^70, as
 * 1.18e+21) is refused by the server (1264), a content error, as before.
 */
export const integerLiteral = (value: number): string => String(value);

/**
 * Any value as mysql2 writes it in a `?` list on the dialect's connections (NULL, true, a Date in UTC, an object as
 * its text), for values a column writer passes through unchanged; a text and a number as {@link textLiteral} and
 * {@link integerLiteral} write them.
 */
export function valueLiteral(value: unknown): string {
  if (typeof value === 'string') {
    return textLiteral(value);
  }

  return typeof value === 'number' ? integerLiteral(value) : escape(value as Parameters<typeof escape>[0], true, 'Z');
}

/** A datetime(6) literal of milliseconds since the epoch, in UTC, which no session time zone shifts. */
export const datetimeLiteral = (ms: number): string => `'${new Date(ms).toISOString().slice(0, 23).replace('T', ' ')}'`;

/** One row of literals, as it goes in a VALUES list: `(a, b, c)`. */
export const rowLiteral = (values: readonly string[]): string => `(${values.join(', ')})`;

/**
 * The rows of one statement, for the `?` of `VALUES ?`: mysql2 splices an object with `toSqlString` into the text
 * as it is, so the rows are not formatted again.
 */
export class RowsLiteral {
  constructor(
    /** each `(a, b, c)`, from {@link rowLiteral} */
    readonly rows: readonly string[],
    /** the values of each row, which the placeholder limit bounds as if each were a placeholder (statement-chunks.ts) */
    readonly valuesPerRow: number,
  ) {}

  /** Bytes the rows add to the statement (the rows and the `, ` between them), measured. */
  get bytes(): number {
    return this.rows.reduce((sum, row) => sum + Buffer.byteLength(row) + 2, -2);
  }

  toSqlString(): string {
    return this.rows.join(', ');
  }
}
