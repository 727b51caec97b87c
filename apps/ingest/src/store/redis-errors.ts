const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTCONN', 'EHOSTUNREACH']);
/** Codes of a connection that broke while a command may have been on it. */
const BROKEN_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

/** True for errors that mean Redis could not be reached or cannot serve yet (answer 503, not 500). */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) {
    return false;
  }
  const code = (error as NodeJS.ErrnoException).code;

  return (
    error.name === 'MaxRetriesPerRequestError' ||
    (code !== undefined && UNAVAILABLE_CODES.has(code)) ||
    /enableOfflineQueue|Connection is closed|^LOADING|^MASTERDOWN|^READONLY|^TRYAGAIN/.test(error.message)
  );
}

/**
 * True when the connection to Redis went away after a command was sent and before its reply came: Redis may
 * have run it. (A command refused while disconnected, with the offline queue off, was never sent.)
 */
export function isOutcomeUnknown(error: unknown): boolean {
  if (!(error instanceof Error)) {
    return false;
  }
  const code = (error as NodeJS.ErrnoException).code;

  return (
    error.name === 'MaxRetriesPerRequestError' ||
    (code !== undefined && BROKEN_CODES.has(code)) ||
    /Connection is closed/.test(error.message)
  );
}

/** What a client is told when a write's outcome is unknown. */
export const OUTCOME_UNKNOWN_DETAIL =
  'Redis went away after the write was sent, so it may or may not have been applied; ' +
  'read the document to find out, or resend (an event resent with its id is stored once)';
