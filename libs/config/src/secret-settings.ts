/**
 * The settings that hold a secret: a password, a URL that may carry one, the API keys. Each one may also be given as
 * `<NAME>_FILE`, the path of a file that holds it (secret-files.ts), and none is ever printed.
 */
export const SECRET_SETTINGS: readonly string[] = [
  'REDIS_URL',
  'REDIS_PASSWORD',
  // Not a setting yet: listed so that Sentinel credentials, when they come, are never shown and may come from a file.
  'REDIS_SENTINEL_PASSWORD',
  'DATABASE_URL',
  'INGEST_API_KEYS',
];

/** A named connection's URL (connectionUrlVariable in env.schema.ts). */
const CONNECTION_URL_SETTING = /^SPILLWAY_CONNECTION_[A-Z][A-Z0-9_]*_URL$/;

/** True for a setting whose value is a secret, or may hold one. */
export function isSecretSetting(name: string): boolean {
  return SECRET_SETTINGS.includes(name) || CONNECTION_URL_SETTING.test(name);
}

/** Settings whose whole value is a secret, not a URL with a password in it. */
const WHOLLY_SECRET = new Set(['REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD', 'INGEST_API_KEYS']);

/**
 * A setting's value as a message may show it: as it is for a setting that holds no secret; a URL with its password
 * replaced by `***` (so that a wrong scheme or host can still be seen); nothing of a password or the API keys.
 */
export function shownValue(name: string, value: unknown): string {
  if (!isSecretSetting(name) || value === undefined) {
    return JSON.stringify(value);
  }
  if (WHOLLY_SECRET.has(name) || typeof value !== 'string') {
    return '(value not shown)';
  }

  return JSON.stringify(value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@/?#\s]*@/i, '$1:***@'));
}
