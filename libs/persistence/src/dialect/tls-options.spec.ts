import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mariadbTls } from './mariadb/mariadb-tls';
import { postgresConnection } from './postgres/postgres-tls';

const CERTIFICATE = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

/** The drivers' TLS options built from a URL's parameters (the servers themselves: test/tls.e2e-spec.ts). */
describe('database TLS options', () => {
  let dir: string;
  let ca: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-tls-options-'));
    ca = join(dir, 'ca.pem');
    writeFileSync(ca, CERTIFICATE);
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('PostgreSQL: verify-full checks chain and host name, verify-ca the chain only; the URL loses what was read', () => {
    const full = postgresConnection(`postgres://u:p@db:5432/s?sslmode=verify-full&sslrootcert=${ca}`);
    const chainOnly = postgresConnection(`postgres://u:p@db:5432/s?sslmode=verify-ca&sslrootcert=${ca}`);

    expect(full).toEqual({ url: 'postgres://u:p@db:5432/s', ssl: { ca: CERTIFICATE, rejectUnauthorized: true } });
    expect(chainOnly.ssl).toMatchObject({ ca: CERTIFICATE, rejectUnauthorized: true });
    expect(chainOnly.ssl && chainOnly.ssl.checkServerIdentity?.('db', {} as never)).toBeUndefined();
    expect(postgresConnection('postgres://db/s?sslmode=disable')).toEqual({ url: 'postgres://db/s', ssl: false });
    // Without sslmode, or with a mode node-postgres reads itself, the URL goes on untouched, as before.
    expect(postgresConnection('postgres://db/s')).toEqual({ url: 'postgres://db/s' });
    expect(postgresConnection('postgres://db/s?sslmode=require')).toEqual({ url: 'postgres://db/s?sslmode=require' });
  });

  it('MariaDB: VERIFY_IDENTITY and VERIFY_CA become mysql2 ssl options; no ssl-mode, no TLS', () => {
    expect(mariadbTls(`mysql://u:p@db/s?ssl-mode=VERIFY_IDENTITY&ssl-ca=${ca}`)).toEqual({
      ssl: { ca: CERTIFICATE, rejectUnauthorized: true, verifyIdentity: true },
    });
    expect(mariadbTls(`mariadb://u:p@db/s?ssl-mode=VERIFY_CA&ssl-ca=${ca}`).ssl?.verifyIdentity).toBe(false);
    expect(mariadbTls('mysql://u:p@db/s?ssl-mode=DISABLED')).toEqual({});
    expect(mariadbTls('mysql://u:p@db/s')).toEqual({});
  });

  it('refuses a URL whose TLS parameters are wrong (the CLI has not checked them at start), never going on in plain', () => {
    expect(() => mariadbTls('mysql://u:p@db/s?ssl-mode=REQUIRED')).toThrow(
      'the database URL: ssl-mode=REQUIRED does not verify the server',
    );
    expect(() => postgresConnection(`postgres://db/s?sslmode=verify-full&sslrootcert=${join(dir, 'x.pem')}`)).toThrow(
      `the database URL: sslrootcert: ${join(dir, 'x.pem')} cannot be read (ENOENT)`,
    );
  });
});
