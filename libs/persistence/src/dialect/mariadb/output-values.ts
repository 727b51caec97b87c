import type { ColumnType, ColumnValue } from '@app/collections';

/**
 * The values of output rows as MariaDB and MySQL columns take them. A row holds what column-conversions.ts made of a
 * document (for PostgreSQL's types); most of it goes as it is: numbers, bigint and numeric as decimal text (the server
 * converts a quoted integer exactly), uuid text, `YYYY-MM-DD`. Three types differ: a timestamptz is an RFC 3339 text
 * with an offset, which a datetime(6) does not read, so it goes as the same instant in UTC; a boolean goes as 1 or 0
 * (tinyint); a jsonb's JSON `null` is NULL, as on PostgreSQL.
 */

// What column-conversions.ts lets through, and the ISO text it makes of epoch milliseconds.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** Rounds half to even, as C's rint(), which PostgreSQL rounds the fraction of a second to microseconds with. */
function rint(x: number): number {
  const r = Math.round(x);

  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * An RFC 3339 date-time with an offset as a UTC `YYYY-MM-DD HH:MM:SS.ffffff` (a datetime(6), the session's time_zone
 * being '+00:00'): the instant PostgreSQL's timestamptz stores, rounded to the microsecond as it rounds, a second 60
 * rolled into the next minute as it rolls it. A text that is not one goes as it is, for the server to refuse.
 */
export function utcDatetime(text: string): string {
  const m = DATE_TIME.exec(text);
  if (m === null) {
    return text;
  }
  const n = (group: number): number => Number(m[group] ?? 0);
  const at = new Date(0);
  // setUTCFullYear, not Date.UTC, which reads the years 0 to 99 as 1900 to 1999.
  at.setUTCFullYear(n(1), n(2) - 1, n(3));
  at.setUTCHours(n(4), n(5), n(6), 0);
  const offsetMinutes = m[8] === undefined ? 0 : (m[8] === '-' ? -1 : 1) * (n(9) * 60 + n(10));
  let ms = at.getTime() - offsetMinutes * 60_000;
  let micros = m[7] === undefined ? 0 : rint(Number(`0${m[7]}`) * 1e6);
  if (micros === 1_000_000) {
    ms += 1000;
    micros = 0;
  }
  const utc = new Date(ms);
  const date = `${pad(utc.getUTCFullYear(), 4)}-${pad(utc.getUTCMonth() + 1, 2)}-${pad(utc.getUTCDate(), 2)}`;
  const time = `${pad(utc.getUTCHours(), 2)}:${pad(utc.getUTCMinutes(), 2)}:${pad(utc.getUTCSeconds(), 2)}`;

  return `${date} ${time}.${pad(micros, 6)}`;
}

type ValueWriter = (value: ColumnValue) => unknown;

const asIs: ValueWriter = (value) => value;

const WRITERS: Readonly<Record<ColumnType, ValueWriter>> = {
  text: asIs,
  integer: asIs,
  bigint: asIs,
  numeric: asIs,
  double: asIs,
  uuid: asIs,
  date: asIs,
  boolean: (value) => (typeof value === 'boolean' ? Number(value) : value),
  timestamptz: (value) => (typeof value === 'string' ? utcDatetime(value) : value),
  jsonb: (value) => (value === 'null' ? null : value),
};

/** How each column's values are written, in the order of the columns (a null is NULL for every type). */
export function valueWriters(types: readonly ColumnType[]): ValueWriter[] {
  return types.map((type) => {
    const write = WRITERS[type];

    return (value) => (value === null ? null : write(value));
  });
}

const DECIMAL = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
/** decimal(65,30) holds 35 digits before the point. */
const DECIMAL_INTEGER_DIGITS = 35;

/** Whether a decimal text's value fits a decimal(65,30) (below 10^35 in magnitude; more decimals are rounded). */
function fitsDecimal(text: string): boolean {
  const m = DECIMAL.exec(text);
  if (m === null) {
    return false;
  }
  const whole = m[1] ?? '';
  const digits = `${whole}${m[2] ?? ''}`;
  const significant = digits.replace(/^0+/, '');
  if (significant === '') {
    return true;
  }
  // Where the point falls after the first significant digit: how many digits the value has before the point.
  const integerDigits = whole.length - (digits.length - significant.length) + Number(m[3] ?? 0);

  return integerDigits <= DECIMAL_INTEGER_DIGITS;
}

const UUID_HEX = /^([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})$/;

/**
 * An owner key (owner-keys.ts: a document id, as text the owner column's type reads) as the text MariaDB compares
 * with the column; undefined when no row can hold it. A uuid goes in the form the char(36) holds (lower case, with
 * hyphens), as PostgreSQL's uuid reads any; a numeric beyond what decimal(65,30) holds is no row's (its insert was
 * refused), and casting it would warn, which MySQL's strict mode makes an error in a DELETE.
 */
export function ownerValue(type: ColumnType, key: string): string | undefined {
  switch (type) {
    case 'uuid': {
      const m = UUID_HEX.exec(key.toLowerCase());

      return m === null ? undefined : m.slice(1).join('-');
    }
    case 'numeric':
      return fitsDecimal(key) ? key : undefined;
    case 'text':
    case 'integer':
    case 'bigint':
    case 'double':
    case 'jsonb':
    case 'boolean':
    case 'timestamptz':
    case 'date':
      return key;
  }
}
