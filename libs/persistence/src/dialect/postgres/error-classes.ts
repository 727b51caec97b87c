import type { ErrorClasses } from '../sql-dialect';

/**
 * SQLSTATE classes that blame the data, not the database: data exceptions (22: bad JSON text, NUL characters,
 * out-of-range numbers), integrity violations (23) and program limits (54: a value too large). Retrying such an entry
 * can never succeed, so it goes to the dead-letter stream.
 */
const CONTENT_CLASSES = new Set(['22', '23', '54']);

/**
 * Classes that say the server cannot serve now: 08 connection, 53 resources, 57 operator intervention (such as "the
 * database system is starting up"), 40 transaction rollback (serialization failure, deadlock).
 */
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '40']);

const UNDEFINED_TABLE = '42P01';

/** A primary key or unique index refused a row. */
export const UNIQUE_VIOLATION = '23505';

/** The SQLSTATE of a failed query, if the error carries one. */
export function sqlStateOf(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;

  return typeof code === 'string' && code.length === 5 ? code : undefined;
}

/** PostgreSQL's {@link ErrorClasses}, by SQLSTATE; an error without one (a refused or lost connection) is an outage. */
export const postgresErrorClasses: ErrorClasses = {
  classify(error) {
    const code = sqlStateOf(error);
    if (code === undefined) {
      return 'unavailable';
    }
    if (code === UNDEFINED_TABLE) {
      return 'missing-table';
    }
    const sqlClass = code.slice(0, 2);
    if (CONTENT_CLASSES.has(sqlClass)) {
      return 'content';
    }

    return UNAVAILABLE_CLASSES.has(sqlClass) ? 'unavailable' : 'other';
  },
  describe(error) {
    const e = error as { code?: string; message?: string };

    return e.code ? `${e.code}: ${e.message ?? ''}` : (e.message ?? String(error));
  },
};
