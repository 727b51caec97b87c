const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTCONN', 'EHOSTUNREACH']);

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
