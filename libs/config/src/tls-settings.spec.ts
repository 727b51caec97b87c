import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseTlsOf, databaseTlsProblems, withoutTlsParameters } from './database-tls';
import { validate } from './env.schema';
import { redisConnectionSettings } from './redis-connection';
import { redisTlsOptions, redisTlsProblems } from './redis-tls';
import { tlsFailureMessage } from './tls-failure';

const CERTIFICATE = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

/** The TLS settings (REDIS_TLS_CA_FILE, a database URL's TLS parameters), checked at start; the failure messages. */
describe('TLS settings', () => {
  let dir: string;
  let ca: string;
  let key: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-tls-settings-'));
    ca = join(dir, 'ca.pem');
    key = join(dir, 'client.key');
    writeFileSync(ca, CERTIFICATE);
    writeFileSync(key, KEY);
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the CA for a rediss:// URL, and refuses a CA file it cannot use or that a redis:// URL would ignore', () => {
    const env = validate({ REDIS_URL: 'rediss://:pw@10.0.0.5:6380', REDIS_TLS_CA_FILE: ca });
    const settings = redisConnectionSettings(env);

    expect(redisTlsOptions(settings)).toEqual({ ca: CERTIFICATE });
    expect(redisTlsOptions(redisConnectionSettings(validate({ REDIS_URL: 'rediss://h:6380' })))).toEqual({});
    expect(redisTlsOptions(redisConnectionSettings(validate({})))).toBeUndefined();
    expect(redisTlsProblems({ REDIS_URL: 'redis://h', REDIS_TLS_CA_FILE: ca })).toEqual([
      'REDIS_TLS_CA_FILE is set but REDIS_URL is not rediss://: use rediss:// to reach Redis over TLS',
    ]);
    expect(() => validate({ REDIS_URL: 'rediss://h', REDIS_TLS_CA_FILE: join(dir, 'missing.pem') })).toThrow(
      `REDIS_TLS_CA_FILE: ${join(dir, 'missing.pem')} cannot be read (ENOENT)`,
    );
    expect(() => validate({ REDIS_URL: 'rediss://h', REDIS_TLS_CA_FILE: key })).toThrow(
      `REDIS_TLS_CA_FILE: ${key} holds no PEM certificate`,
    );
  });

  it("reads libpq's sslmode=verify-full|verify-ca|disable itself, and leaves node-postgres's other modes to it", () => {
    const url = `postgres://u:secret@db:5432/spillway?sslmode=verify-full&sslrootcert=${ca}&application_name=x`;

    expect(databaseTlsProblems('DATABASE_URL', url)).toEqual([]);
    expect(databaseTlsOf(url)).toEqual({ mode: 'verify-full', caFile: ca });
    expect(withoutTlsParameters(url)).toBe('postgres://u:secret@db:5432/spillway?application_name=x');
    expect(databaseTlsOf(`postgres://db/s?sslmode=verify-ca&sslrootcert=${ca}`)?.mode).toBe('verify-ca');
    expect(databaseTlsOf('postgres://db/s?sslmode=verify-full&sslrootcert=system')).toEqual({ mode: 'verify-full' });
    expect(databaseTlsOf('postgres://db/s?sslmode=disable')).toEqual({ mode: 'disable' });
    for (const untouched of [
      'postgres://db/s',
      'postgres://db/s?sslmode=require',
      `postgres://db/s?sslrootcert=${ca}`,
    ]) {
      expect(databaseTlsOf(untouched)).toBeUndefined();
      expect(withoutTlsParameters(untouched)).toBe(untouched);
      expect(databaseTlsProblems('DATABASE_URL', untouched)).toEqual([]);
    }
  });

  it("reads the MySQL URI's ssl-mode and ssl-ca, and refuses what mysql2 would silently ignore", () => {
    const url = `mysql://u:secret@db:3306/spillway?ssl-mode=VERIFY_IDENTITY&ssl-ca=${ca}`;

    expect(databaseTlsOf(url)).toEqual({ mode: 'verify-full', caFile: ca });
    expect(databaseTlsOf(`mariadb://db/s?ssl-mode=verify_ca&ssl-ca=${ca}&ssl-key=${key}`)).toEqual({
      mode: 'verify-ca',
      caFile: ca,
      keyFile: key,
    });
    expect(databaseTlsProblems('SPILLWAY_CONNECTION_A_URL', 'mysql://db/s?ssl={}')).toEqual([
      'SPILLWAY_CONNECTION_A_URL: ssl is not a TLS parameter of this URL; use ssl-mode=VERIFY_IDENTITY&ssl-ca=/path/ca.pem',
    ]);
    expect(databaseTlsProblems('DATABASE_URL', `mysql://db/s?ssl-ca=${ca}`)).toEqual([
      'DATABASE_URL: ssl-ca needs ssl-mode too; use ssl-mode=VERIFY_IDENTITY&ssl-ca=/path/ca.pem',
    ]);
    expect(databaseTlsProblems('DATABASE_URL', 'mysql://db/s?ssl-mode=REQUIRED')).toEqual([
      'DATABASE_URL: ssl-mode=REQUIRED does not verify the server; use ssl-mode=VERIFY_IDENTITY&ssl-ca=/path/ca.pem ' +
        '(or ssl-mode=VERIFY_CA)',
    ]);
  });

  it('stops the apps at start on a bad TLS parameter of any connection, never printing the URL', () => {
    const missing = join(dir, 'nope.pem');
    const start = () =>
      validate({
        DATABASE_URL: `postgres://u:secret@db/s?sslmode=verify-full&sslrootcert=${missing}`,
        SPILLWAY_CONNECTIONS: 'analytics',
        SPILLWAY_CONNECTION_ANALYTICS_URL: 'mysql://u:secret@db/a?ssl-mode=VERIFY_CA',
      });

    expect(start).toThrow(`DATABASE_URL: sslrootcert: ${missing} cannot be read (ENOENT)`);
    expect(start).toThrow('SPILLWAY_CONNECTION_ANALYTICS_URL: ssl-mode=VERIFY_CA needs ssl-ca=<CA file>');
    expect(start).not.toThrow(/secret/);
    expect(() => validate({ DATABASE_URL: 'postgres://db/s?sslmode=verify-fll' })).toThrow(
      'DATABASE_URL: sslmode=verify-fll is not a mode Spillway knows',
    );
  });

  it('names the server and the reason of a TLS failure, and nothing else', () => {
    const unknownCa = Object.assign(new Error('self-signed certificate in certificate chain'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    const mysql2 = Object.assign(new Error('unable to verify the first certificate'), { code: 'HANDSHAKE_SSL_ERROR' });
    const plainServer = Object.assign(new Error('Server does not support secure connection'), {
      code: 'HANDSHAKE_NO_SSL_SUPPORT',
    });

    expect(tlsFailureMessage('Redis 127.0.0.1:6380', unknownCa)).toBe(
      'TLS verification failed for Redis 127.0.0.1:6380: self-signed certificate in certificate chain ' +
        '(SELF_SIGNED_CERT_IN_CHAIN)',
    );
    expect(tlsFailureMessage('MariaDB db:3306', mysql2)).toBe(
      'TLS verification failed for MariaDB db:3306: unable to verify the first certificate',
    );
    expect(tlsFailureMessage('MariaDB db:3306', plainServer)).toMatch(/^TLS failed for MariaDB db:3306: the server/);
    expect(tlsFailureMessage('PostgreSQL db:5432', new Error('The server does not support SSL connections'))).toMatch(
      /^TLS failed for PostgreSQL db:5432: the server does not offer TLS/,
    );
    expect(tlsFailureMessage('PostgreSQL db:5432', Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(
      undefined,
    );
  });
});
