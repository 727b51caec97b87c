import type { ErrorClasses } from '../sql-dialect';

/** What mysql2 puts on an error: the server's errno and SQLSTATE, or a client code (ECONNREFUSED, PROTOCOL_…). */
interface Mysql2Error {
  errno?: unknown;
  sqlState?: unknown;
  code?: unknown;
  fatal?: unknown;
  message?: unknown;
}

/**
 * SQLSTATE classes that blame the data: 22 data exceptions (1264 out of range, 1292 a bad datetime, 1406 too long,
 * 3140 MySQL's invalid JSON) and 23 integrity violations (1062 a duplicate key, 1048 a NULL, 4025 MariaDB's failed
 * CHECK, which is how its `json` column refuses invalid JSON).
 */
const CONTENT_CLASSES = new Set(['22', '23']);

/**
 * Errors that blame the data under another SQLSTATE: 1265 data truncated (01000, an error in strict mode), 1366 an
 * incorrect value (HY000 on MySQL, 22007 on MariaDB), 1300 an invalid character string (HY000), 3819 MySQL's failed
 * CHECK (HY000), and 1153 a packet larger than max_allowed_packet (08S01): statements are chunked under it, so
 * only a single row too large for the server meets it, and the writes refuse that one before sending it
 * (statement-too-large.error.ts).
 */
const CONTENT_ERRNOS = new Set([1153, 1265, 1300, 1366, 3819]);

/** 08 connection exceptions (1053 shutdown, 1152 to 1161 network errors), 40 transaction rollback (1213 deadlock). */
const UNAVAILABLE_CLASSES = new Set(['08', '40']);

/**
 * The server cannot serve now, under SQLSTATE HY000 or 70100: 1021 disk full, 1040 too many connections, 1203 and
 * 1226 user limits, 1205 lock wait timeout, 1290 and 1836 read-only (a failover), 1317 query interrupted (a shutdown),
 * 1927 MariaDB's "connection killed", and the client's own 2002, 2003, 2006 (gone away), 2013 (lost).
 */
const UNAVAILABLE_ERRNOS = new Set([
  1021, 1040, 1053, 1203, 1205, 1213, 1226, 1290, 1317, 1836, 1927, 2002, 2003, 2006, 2013,
]);

const NO_SUCH_TABLE = 1146;

/** How {@link ErrorClasses.describe} names each class. */
const LABELS: Readonly<Record<ReturnType<ErrorClasses['classify']>, string>> = {
  content: 'content',
  unavailable: 'outage',
  'missing-table': 'missing table',
  other: 'other',
};

/** The mysql2 error behind a TypeORM QueryFailedError, or the error itself. */
function driverErrorOf(error: unknown): Mysql2Error {
  if (typeof error !== 'object' || error === null) {
    return {};
  }
  const driverError = (error as { driverError?: unknown }).driverError;

  return typeof driverError === 'object' && driverError !== null ? driverError : error;
}

function partsOf(error: unknown): { errno?: number; sqlState?: string; code?: string; fatal: boolean } {
  const e = driverErrorOf(error);

  return {
    errno: typeof e.errno === 'number' && e.errno > 0 ? e.errno : undefined,
    sqlState: typeof e.sqlState === 'string' && e.sqlState.length === 5 ? e.sqlState : undefined,
    code: typeof e.code === 'string' ? e.code : undefined,
    fatal: e.fatal === true,
  };
}

/**
 * MariaDB's and MySQL's {@link ErrorClasses}, by mysql2's `sqlState`, `errno` and `code`. An error the server did not
 * answer (no SQLSTATE: a refused, lost or closed connection, a fatal protocol error) is an outage, as on PostgreSQL.
 */
export const mariadbErrorClasses: ErrorClasses = {
  classify(error) {
    const { errno, sqlState, fatal } = partsOf(error);
    if (errno === NO_SUCH_TABLE) {
      return 'missing-table';
    }
    if (errno !== undefined && CONTENT_ERRNOS.has(errno)) {
      return 'content';
    }
    if (sqlState === undefined || fatal || (errno !== undefined && UNAVAILABLE_ERRNOS.has(errno))) {
      return 'unavailable';
    }
    const sqlClass = sqlState.slice(0, 2);
    if (CONTENT_CLASSES.has(sqlClass)) {
      return 'content';
    }

    return UNAVAILABLE_CLASSES.has(sqlClass) ? 'unavailable' : 'other';
  },

  /**
   * `<class>: error <errno> <code> (SQLSTATE <state>): <message>`. mysql2 names an errno from MySQL's list, so the
   * name is left out from 1900 on, where MariaDB's numbers mean other errors (its 4025 is MySQL's
   * ER_INNODB_AUTOEXTEND_SIZE_OUT_OF_RANGE).
   */
  describe(error) {
    const { errno, sqlState, code } = partsOf(error);
    const e = driverErrorOf(error);
    const message = typeof e.message === 'string' ? e.message : String(error);
    const label = LABELS[mariadbErrorClasses.classify(error)];
    if (errno === undefined) {
      return `${label}: ${code !== undefined ? `${code}: ` : ''}${message}`;
    }
    const name = code !== undefined && errno < 1900 ? ` ${code}` : '';

    return `${label}: error ${errno}${name} (SQLSTATE ${sqlState ?? 'none'}): ${message}`;
  },
};
