import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import {
  AppProcess,
  type AppName,
  findFreePort,
  type MariadbServer,
  type PostgresServer,
  type RedisServer,
  startMariadb,
  startPostgres,
  startRedis,
  stopAll,
} from '../tools/local-stack';
import { expectEventually } from './utils/expect-eventually';
import { SecretLeakCheck } from './utils/secret-leaks';
import { testServers } from './utils/servers';
import { makeTestCertificates, type TestCertificates } from './utils/tls-certificates';

/** terminus's result: each failing check with its status and message. */
interface HealthResult {
  error?: Record<string, { status: string; message?: string }>;
}

/** /health/ready's body: terminus's result, or (ingest) a problem that holds it in `checks`. */
type Readiness = HealthResult & { checks?: HealthResult };

const COLLECTION = 'tls_docs';
/** An ACL user of the TLS Redis, so that REDIS_URL carries a password the logs must never show. */
const REDIS_USER = 'spillway_tls';
const MARIADB_TLS_USER = 'spillway_tls';

/**
 * TLS to Redis (`rediss://` with REDIS_TLS_CA_FILE), PostgreSQL (`sslmode=verify-full&sslrootcert=`) and MariaDB
 * (`ssl-mode=VERIFY_IDENTITY&ssl-ca=`), each against a real server this spec starts with certificates it makes with
 * openssl: with the right CA the built ingest and sink carry a document from HTTP to the database over TLS; with a
 * CA that did not sign the server's certificate, the readiness of the app that needs that server is 503 and says TLS
 * verification failed and for which server, as a log line does, and nothing falls back to plain TCP. Every log line
 * and every answer is searched for the passwords in the URLs.
 *
 * Real: redis-server (--tls-port), PostgreSQL (ssl = on), MariaDB (--require-secure-transport), the built apps.
 * Mocked: nothing.
 */
describe('TLS to Redis, PostgreSQL and MariaDB', () => {
  const redisPassword = randomBytes(12).toString('hex');
  const pgPassword = randomBytes(12).toString('hex');
  const mariadbPassword = randomBytes(12).toString('hex');
  const leaks = new SecretLeakCheck([redisPassword, pgPassword, mariadbPassword]);
  const apps: AppProcess[] = [];
  /** every line each app printed (AppProcess keeps only the last ones) */
  const logs = new Map<string, string[]>();
  let dir: string;
  let certs: TestCertificates;
  let redis: RedisServer;
  let redisTlsPort: number;
  let pg: PostgresServer;
  let mariadb: MariadbServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-tls-'));
    chmodSync(dir, 0o755); // the servers' own users (postgres, mysql) keep their data under it
    certs = makeTestCertificates(join(dir, 'certs'));
    writeFileSync(join(dir, `${COLLECTION}.yaml`), `name: ${COLLECTION}\nkind: document\n`);
    redisTlsPort = await findFreePort();
    // The plain port stays for the harness's own PING; the apps use the TLS port.
    [redis, pg, mariadb] = await Promise.all([
      startRedis({
        dir: join(dir, 'redis'),
        extraArgs: [
          ...['--tls-port', String(redisTlsPort), '--tls-cert-file', certs.certFile, '--tls-key-file', certs.keyFile],
          ...['--tls-ca-cert-file', certs.caFile, '--tls-auth-clients', 'no'],
          ...['--user', REDIS_USER, 'on', `>${redisPassword}`, '~*', '&*', '+@all'],
        ],
      }),
      startPostgres({ dir: join(dir, 'pg'), durable: false, tls: certs }),
      startMariadb({ dir: join(dir, 'mariadb'), durable: false, tls: certs }),
    ]);
    const admin = await createConnection({ uri: mariadb.url, ssl: { ca: readFileSync(certs.caFile, 'utf8') } });
    await admin.query(`CREATE USER '${MARIADB_TLS_USER}'@'%' IDENTIFIED BY '${mariadbPassword}'`);
    await admin.query(`GRANT ALL PRIVILEGES ON *.* TO '${MARIADB_TLS_USER}'@'%'`);
    await admin.end();
  }, 240_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.terminate()));
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    expect(leaks.recorded).toBeGreaterThan(0);
    expect(leaks.leaks()).toEqual([]);
  }, 120_000);

  const redisUrl = () => `rediss://${REDIS_USER}:${redisPassword}@127.0.0.1:${redisTlsPort}`;
  const pgUrl = (ca: string, host = '127.0.0.1') =>
    `postgres://postgres:${pgPassword}@${host}:${pg.port}/spillway?sslmode=verify-full&sslrootcert=${ca}`;
  const mariadbUrl = (ca: string) =>
    `mysql://${MARIADB_TLS_USER}:${mariadbPassword}@127.0.0.1:${mariadb.port}/spillway` +
    `?ssl-mode=VERIFY_IDENTITY&ssl-ca=${ca}`;

  async function start(app: AppName, env: Record<string, string>): Promise<AppProcess> {
    const name = `${app}-${apps.length}`;
    const process = new AppProcess(
      name,
      app,
      { COLLECTIONS_DIR: dir, REDIS_TLS_CA_FILE: certs.caFile, SINK_CONSUMER: name, ...env },
      {
        onOutputLine: (line) => {
          leaks.record(`${name} log`, line);
          logs.set(name, [...(logs.get(name) ?? []), line]);
        },
      },
    );
    apps.push(process);
    await process.start();

    return process;
  }

  async function readiness(app: AppProcess): Promise<{ status: number; body: Readiness }> {
    const answer = await leaks.fetch(`${app.url}/health/ready`);

    return { status: answer.status, body: JSON.parse(answer.body) as Readiness };
  }

  /** Waits until readiness is 503 with `check`'s message matching, and a log line says the same. */
  async function expectNotReady(app: AppProcess, check: string, message: RegExp): Promise<void> {
    await expectEventually(async () => {
      const { status, body } = await readiness(app);
      expect(status).toBe(503);
      expect((body.checks ?? body).error?.[check]?.message).toMatch(message);
    }, 20_000);
    expect(logs.get(app.name)?.some((line) => message.test(line))).toBe(true);
  }

  const put = async (ingest: AppProcess, id: string) =>
    (
      await leaks.fetch(`${ingest.url}/v1/${COLLECTION}/${id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ over: 'tls' }),
      })
    ).status;

  it('carries a document over TLS to Redis and PostgreSQL, verifying both servers', async () => {
    const env = { REDIS_URL: redisUrl(), DATABASE_URL: pgUrl(certs.caFile) };
    const [ingest, sink] = await Promise.all([start('ingest', env), start('sink', env)]);
    await Promise.all([ingest.waitUntilReady(), sink.waitUntilReady()]);

    expect(await put(ingest, 'pg-1')).toBe(202);

    const client = new Client({
      host: '127.0.0.1',
      port: pg.port,
      user: 'postgres',
      database: 'spillway',
      ssl: { ca: readFileSync(certs.caFile, 'utf8') },
    });
    await client.connect();
    try {
      await expectEventually(async () => {
        const { rows } = await client.query<{ doc: unknown }>(`SELECT doc FROM ${COLLECTION} WHERE id = 'pg-1'`);
        expect(rows[0]?.doc).toMatchObject({ over: 'tls' });
      });
      // Every connection of the apps (application_name spillway) is a TLS one.
      const { rows } = await client.query<{ ssl: boolean }>(
        `SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'spillway'`,
      );
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((row) => row.ssl)).toBe(true);
    } finally {
      await client.end();
    }
    // Every Redis connection of the apps (the ACL user's) came in on the TLS port.
    const clients = await redisClientList();
    expect(clients.length).toBeGreaterThan(0);
    expect(clients.every((line) => line.includes(`laddr=127.0.0.1:${redisTlsPort} `))).toBe(true);
    await Promise.all([ingest.terminate(), sink.terminate()]);
  });

  it('carries a document over TLS to MariaDB, which refuses plain TCP', async () => {
    const env = { REDIS_URL: redisUrl(), DATABASE_URL: mariadbUrl(certs.caFile) };
    const [ingest, sink] = await Promise.all([start('ingest', env), start('sink', env)]);
    await Promise.all([ingest.waitUntilReady(), sink.waitUntilReady()]);

    expect(await put(ingest, 'maria-1')).toBe(202);

    const ssl = { ca: readFileSync(certs.caFile, 'utf8') };
    const connection = await createConnection({ uri: mariadb.url, ssl });
    try {
      await expectEventually(async () => {
        const [rows] = await connection.query(`SELECT doc FROM ${COLLECTION} WHERE id = 'maria-1'`);
        expect((rows as { doc: unknown }[])[0]?.doc).toMatchObject({ over: 'tls' });
      });
    } finally {
      await connection.end();
    }
    // The server requires TLS (require-secure-transport): a plain connection is refused.
    await expect(createConnection({ uri: mariadb.url })).rejects.toThrow();
    await Promise.all([ingest.terminate(), sink.terminate()]);
  });

  it('a CA that did not sign Redis’s certificate: ingest and sink are not ready and say why', async () => {
    const env = { REDIS_URL: redisUrl(), REDIS_TLS_CA_FILE: certs.otherCaFile, DATABASE_URL: pgUrl(certs.caFile) };
    const [ingest, sink] = await Promise.all([start('ingest', env), start('sink', env)]);
    const failure = new RegExp(`TLS verification failed for Redis 127\\.0\\.0\\.1:${redisTlsPort}: .*certificate`);

    await Promise.all([expectNotReady(ingest, 'redis', failure), expectNotReady(sink, 'redis', failure)]);
    expect(await put(ingest, 'never')).toBe(503);
    await Promise.all([ingest.terminate(), sink.terminate()]);
  });

  it('a CA that did not sign PostgreSQL’s or MariaDB’s certificate: the sink is not ready and says why', async () => {
    const redisEnv = { REDIS_URL: redisUrl() };
    const [pgSink, mariadbSink] = await Promise.all([
      start('sink', { ...redisEnv, DATABASE_URL: pgUrl(certs.otherCaFile) }),
      start('sink', { ...redisEnv, DATABASE_URL: mariadbUrl(certs.otherCaFile) }),
    ]);

    await Promise.all([
      expectNotReady(
        pgSink,
        'database',
        new RegExp(`TLS verification failed for PostgreSQL 127\\.0\\.0\\.1:${pg.port}: .*certificate`),
      ),
      expectNotReady(
        mariadbSink,
        'database',
        new RegExp(`TLS verification failed for MariaDB 127\\.0\\.0\\.1:${mariadb.port}: .*certificate`),
      ),
    ]);
    await Promise.all([pgSink.terminate(), mariadbSink.terminate()]);
  });

  it('a server that does not offer TLS is refused, never used in plain TCP', async () => {
    const plain = new URL(testServers().databaseUrl);
    plain.password = pgPassword;
    plain.search = `?sslmode=verify-full&sslrootcert=${certs.caFile}`;
    const sink = await start('sink', { REDIS_URL: redisUrl(), DATABASE_URL: plain.toString() });

    await expectNotReady(
      sink,
      'database',
      new RegExp(`TLS failed for PostgreSQL 127\\.0\\.0\\.1:${plain.port}: the server does not offer TLS`),
    );
    await sink.terminate();
  });

  /** CLIENT LIST of the TLS Redis, the apps' connections only (the ACL user's), through the plain port. */
  async function redisClientList(): Promise<string[]> {
    const { Redis } = await import('ioredis');
    const client = new Redis(redis.port, '127.0.0.1');
    try {
      const list = (await client.client('LIST')) as string;

      return list.split('\n').filter((line) => line.includes(` user=${REDIS_USER} `));
    } finally {
      client.disconnect();
    }
  }
});
