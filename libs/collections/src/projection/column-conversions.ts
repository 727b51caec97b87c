import { article, jsonTypeOf } from '../documents/json-type';
import type { ColumnType, ColumnValue } from '../outputs';

/** Why a value cannot go into a column: a short phrase that names its JSON type, never the value. */
export class ConversionRefusal {
  constructor(readonly reason: string) {}
}

/** Converts a JSON value (never null or missing: those are NULL) to what the driver takes for the column's type. */
export type ColumnConverter = (value: unknown) => ColumnValue | ConversionRefusal;

function refuse(value: unknown, why?: string): ConversionRefusal {
  return new ConversionRefusal(`cannot convert ${article(jsonTypeOf(value))}${why ? ` (${why})` : ''}`);
}

const INT4_MIN = -(2 ** 31);
const INT4_MAX = 2 ** 31 - 1;
const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;
const INTEGER_TEXT = /^[+-]?\d{1,30}$/;
// Within what PostgreSQL's numeric takes (its exponent and scale limits are far beyond); more is surely a mistake.
const NUMERIC_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,4})?$/;
const MAX_NUMERIC_TEXT = 1000;
const MAX_NUMERIC_EXPONENT = 1000;
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const UUID_TEXT = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// Years 1 to 9999: what both an RFC 3339 string and PostgreSQL take (year 0 does not exist there).
const MIN_EPOCH_MS = -62_135_596_800_000; // 0001-01-01T00:00:00Z (Date.UTC reads years below 100 as 19xx)
const MAX_EPOCH_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isValidDate(year: number, month: number, day: number): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);

  return day <= days;
}

/** The number written by the `count` ASCII digits of `text` from `at`, or -1 when one of them is not a digit. */
function digitsAt(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (!(digit >= 0 && digit <= 9)) return -1;
    n = n * 10 + digit;
  }

  return n;
}

/**
 * The `YYYY-MM-DD` part of an RFC 3339 date-time, or undefined when `text` is not one. The offset is required, so a
 * value never depends on the session's time zone. Reads by position what
 * `/^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/` matches (the spec
 * holds both to the same answers): that expression's match and the numbers of its groups were a twentieth of the
 * sink's CPU for the shipped sessions collection (two timestamptz columns an entry).
 */
function dateTimeDate(text: string): string | undefined {
  if (text.length < 20) return undefined;
  const separator = text[10];
  if (text[4] !== '-' || text[7] !== '-' || text[13] !== ':' || text[16] !== ':') return undefined;
  if (separator !== 'T' && separator !== 't' && separator !== ' ') return undefined;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return undefined;
  let at = 19;
  if (text[at] === '.') {
    let end = at + 1;
    while (digitsAt(text, end, 1) >= 0) end++;
    const fraction = end - at - 1;
    if (fraction < 1 || fraction > 9) return undefined;
    at = end;
  }
  const zone = text[at];
  let offsetValid: boolean;
  if (zone === 'Z' || zone === 'z') {
    if (at + 1 !== text.length) return undefined;
    offsetValid = true;
  } else if (zone === '+' || zone === '-') {
    if (at + 6 !== text.length || text[at + 3] !== ':') return undefined;
    const offsetHours = digitsAt(text, at + 1, 2);
    const offsetMinutes = digitsAt(text, at + 4, 2);
    if (offsetHours < 0 || offsetMinutes < 0) return undefined;
    // PostgreSQL takes offsets up to 15:59.
    offsetValid = offsetHours <= 15 && offsetMinutes <= 59;
  } else {
    return undefined;
  }
  // Second 60: a leap second, which RFC 3339 allows and PostgreSQL rolls into the next minute.
  const valid = isValidDate(year, month, day) && hour <= 23 && minute <= 59 && second <= 60 && offsetValid;

  return valid ? text.slice(0, 10) : undefined;
}

function toText(value: unknown): ColumnValue | ConversionRefusal {
  if (typeof value === 'string') return value;
  // A number or boolean becomes its JSON text.
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);

  return refuse(value, 'use jsonb for objects and arrays');
}

function toInteger(value: unknown): ColumnValue | ConversionRefusal {
  let n: number;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return refuse(value, 'not an integer');
    n = value;
  } else if (typeof value === 'string') {
    if (!INTEGER_TEXT.test(value)) return refuse(value, 'not an integer');
    n = Number(value);
  } else {
    return refuse(value);
  }

  return n >= INT4_MIN && n <= INT4_MAX ? n : refuse(value, 'out of range for integer');
}

function toBigint(value: unknown): ColumnValue | ConversionRefusal {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return refuse(value, 'not an integer');
    // Past 2^53 JSON.parse has already rounded the number: send such values as strings.
    if (!Number.isSafeInteger(value)) return refuse(value, 'beyond 2^53, send it as a string to keep its digits');

    return String(value);
  }
  if (typeof value !== 'string') return refuse(value);
  if (!INTEGER_TEXT.test(value)) return refuse(value, 'not an integer');
  const n = BigInt(value);

  return n >= INT8_MIN && n <= INT8_MAX ? n.toString() : refuse(value, 'out of range for bigint');
}

function toNumeric(value: unknown): ColumnValue | ConversionRefusal {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : refuse(value, 'not finite');
  if (typeof value !== 'string') return refuse(value);
  const m = value.length <= MAX_NUMERIC_TEXT ? NUMERIC_TEXT.exec(value) : null;
  if (!m) return refuse(value, 'not a decimal number');
  if (m[3] !== undefined && Math.abs(Number(m[3].slice(1))) > MAX_NUMERIC_EXPONENT) {
    return refuse(value, `exponent beyond ±${MAX_NUMERIC_EXPONENT}`);
  }

  return value;
}

function toDouble(value: unknown): ColumnValue | ConversionRefusal {
  if (typeof value !== 'number') return refuse(value);

  // JSON.parse reads 1e400 as Infinity.
  return Number.isFinite(value) ? value : refuse(value, 'out of range for double');
}

function toBoolean(value: unknown): ColumnValue | ConversionRefusal {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';

  return refuse(value, typeof value === 'string' ? 'not "true" or "false"' : undefined);
}

function toTimestamptz(value: unknown): ColumnValue | ConversionRefusal {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return refuse(value, 'not a whole number of milliseconds since the epoch');
    if (value < MIN_EPOCH_MS || value > MAX_EPOCH_MS) return refuse(value, 'outside the years 1 to 9999');

    return new Date(value).toISOString();
  }
  if (typeof value !== 'string') return refuse(value);

  return dateTimeDate(value) !== undefined ? value : refuse(value, 'not an RFC 3339 date-time with an offset');
}

function toDate(value: unknown): ColumnValue | ConversionRefusal {
  if (typeof value !== 'string') return refuse(value);
  const m = DATE_TEXT.exec(value);
  if (m) {
    return isValidDate(Number(m[1]), Number(m[2]), Number(m[3])) ? value : refuse(value, 'not a valid date');
  }

  return dateTimeDate(value) ?? refuse(value, 'not a YYYY-MM-DD date or an RFC 3339 date-time');
}

function toUuid(value: unknown): ColumnValue | ConversionRefusal {
  if (typeof value !== 'string') return refuse(value);

  return UUID_TEXT.test(value) ? value.toLowerCase() : refuse(value, 'not a UUID in its 8-4-4-4-12 form');
}

function toJsonb(value: unknown): ColumnValue | ConversionRefusal {
  return JSON.stringify(value);
}

/**
 * The conversion of each column type (docs/collections.md lists what each accepts). Values come out as the pg driver
 * takes them: integer and double as numbers; bigint and numeric as decimal strings, so no digit is lost;
 * timestamptz as an RFC 3339 string; date as `YYYY-MM-DD`; uuid in lower case; jsonb as JSON text.
 */
export const COLUMN_CONVERTERS: Readonly<Record<ColumnType, ColumnConverter>> = {
  text: toText,
  integer: toInteger,
  bigint: toBigint,
  numeric: toNumeric,
  double: toDouble,
  boolean: toBoolean,
  timestamptz: toTimestamptz,
  date: toDate,
  uuid: toUuid,
  jsonb: toJsonb,
};
