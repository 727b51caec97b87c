/**
 * SQLSTATE classes that blame the data, not the database: data exceptions (22: bad JSON text,
 * NUL characters, out-of-range numbers), integrity violations (23) and program limits (54: a value too large).
 * Retrying such an entry can never succeed, so it goes to the dead-letter stream.
 */
const CONTENT_ERROR_CLASSES = new Set(['22', '23', '54']);

export function isContentError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;

  return typeof code === 'string' && code.length === 5 && CONTENT_ERROR_CLASSES.has(code.slice(0, 2));
}

export function describeError(error: unknown): string {
  const e = error as { code?: string; message?: string };

  return e.code ? `${e.code}: ${e.message ?? ''}` : (e.message ?? String(error));
}
