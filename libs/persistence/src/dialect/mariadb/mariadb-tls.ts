import { databaseTlsFiles, databaseTlsOf } from '@app/config';

/** mysql2's `ssl` options (node's TLS options, and mysql2's own `verifyIdentity`). */
export interface MariadbSslOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: true;
  verifyIdentity: boolean;
}

/**
 * mysql2's `ssl` option for a URL with the MySQL URI's TLS parameters (`ssl-mode=VERIFY_IDENTITY|VERIFY_CA|DISABLED`,
 * `ssl-ca`, `ssl-cert`, `ssl-key`; libs/config/src/database-tls.ts), none for plain TCP. TypeORM hands mysql2
 * the URL's host, user and database only, so Spillway reads these itself. With `ssl` set, mysql2 refuses a server
 * that does not offer TLS (HANDSHAKE_NO_SSL_SUPPORT): it never falls back to plain TCP.
 */
export function mariadbTls(url: string): { ssl?: MariadbSslOptions } {
  const tls = databaseTlsOf(url);
  if (tls === undefined || tls.mode === 'disable') {
    return {};
  }

  return { ssl: { ...databaseTlsFiles(tls), rejectUnauthorized: true, verifyIdentity: tls.mode === 'verify-full' } };
}
