import type { ConnectionOptions, TlsOptions } from 'node:tls';
import { databaseTlsFiles, databaseTlsOf, withoutTlsParameters } from '@app/config';

/** What node-postgres hands tls.connect (TypeORM types it as TlsOptions). */
export type PostgresSslOptions = TlsOptions & Pick<ConnectionOptions, 'checkServerIdentity'>;

/**
 * node-postgres's connection settings for a URL with libpq's TLS parameters (`sslmode=verify-full|verify-ca|disable`,
 * `sslrootcert`, `sslcert`, `sslkey`; libs/config/src/database-tls.ts). Spillway reads them itself and hands
 * node-postgres the URL without them: node-postgres would read `verify-ca` as `verify-full`, and `sslrootcert=system`
 * as a file. With TLS asked for, node-postgres opens TLS or fails: it never falls back to plain TCP. A URL without
 * `sslmode` is handed on untouched (node-postgres's own `ssl=` and PGSSLMODE keep working as before).
 */
export function postgresConnection(url: string): { url: string; ssl?: false | PostgresSslOptions } {
  const tls = databaseTlsOf(url);
  if (tls === undefined) {
    return { url };
  }
  if (tls.mode === 'disable') {
    return { url: withoutTlsParameters(url), ssl: false };
  }

  return {
    url: withoutTlsParameters(url),
    ssl: {
      ...databaseTlsFiles(tls),
      rejectUnauthorized: true,
      // verify-ca: the chain is verified, the host name is not.
      ...(tls.mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
    },
  };
}
