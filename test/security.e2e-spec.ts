import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import {
  AppProcess,
  type AppName,
  LOOPBACK_HOST,
  openDatabaseReader,
  type PostgresServer,
  type RedisServer,
  startPostgres,
  startRedis,
} from '../tools/local-stack';
import { expectEventually } from './utils/expect-eventually';
import { SecretLeakCheck } from './utils/secret-leaks';

const ROOT = join(__dirname, '..');
const secret = (name: string) => `${name}-${randomBytes(12).toString('hex')}`;

const REDIS_ADMIN_PASSWORD = secret('redis-admin');
const REDIS_PASSWORD = secret('redis-app');
const WRONG_REDIS_PASSWORD = secret('redis-wrong');
const NO_RIGHTS_PASSWORD = secret('redis-norights');
const DB_PASSWORD = secret('db-app');
const WRONG_DB_PASSWORD = secret('db-wrong');
const KEY_RW = secret('key-rw');
const KEY_RO = secret('key-ro');
const ALL_SECRETS = [
  REDIS_ADMIN_PASSWORD,
  REDIS_PASSWORD,
  WRONG_REDIS_PASSWORD,
  NO_RIGHTS_PASSWORD,
  DB_PASSWORD,
  WRONG_DB_PASSWORD,
  KEY_RW,
  KEY_RO,
];

const DB_USER = 'spillway_app';
const DB_NAME = 'spillway_sec';
const JSON_HEADERS = { 'content-type': 'application/json' };

/** The words of a shell command, as sh would split them: quotes and backslashes, line continuations. */
function shellWords(command: string): string[] {
  const words: string[] = [];
  const pattern = /'([^']*)'|\\(.)|(\s+)|([^\s'\\]+)/gs;
  let word: string | undefined;
  for (const [, quoted, escaped, space, plain] of command.replace(/\\\n/g, ' ').matchAll(pattern)) {
    if (space !== undefined) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + (quoted ?? escaped ?? plain ?? '');
    }
  }
  if (word !== undefined) words.push(word);

  return words;
}

/** The `ACL SETUSER spillway …` command of docs/operations.md, as words after `redis-cli`, with this run's password. */
function documentedAclRule(password: string): string[] {
  const docs = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
  const block = /```sh\n(redis-cli ACL SETUSER spillway [\s\S]*?)\n```/.exec(docs)?.[1];
  if (!block) throw new Error('docs/operations.md has no `redis-cli ACL SETUSER spillway` block');
  const words = shellWords(block).slice(1);
  expect(words).toContain('>change-me');

  return words.map((word) => (word === '>change-me' ? `>${password}` : word));
}

/**
 * Security against real servers of this spec's own: a Redis whose default user has a password and that has the ACL
 * user of docs/operations.md, a PostgreSQL whose application role logs in with a password (scram-sha-256), and the
 * built apps with secrets from files, scoped API keys and a rate limit. Every line the apps print and every answer
 * read goes through a SecretLeakCheck. Real: the built apps, redis-server, PostgreSQL. Mocked: nothing.
 */
describe('security', () => {
  let dir: string;
  let redis: RedisServer;
  let pg: PostgresServer;
  let admin: Redis;
  const leaks = new SecretLeakCheck(ALL_SECRETS);
  const apps: AppProcess[] = [];

  const redisUrl = (user: string, password: string) => `redis://${user}:${password}@${LOOPBACK_HOST}:${redis.port}`;
  const databaseUrl = (password: string) => `postgres://${DB_USER}:${password}@${LOOPBACK_HOST}:${pg.port}/${DB_NAME}`;

  function secretFile(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });

    return path;
  }

  /** A built app whose every output line the leak check reads; stopped after each test. */
  function app(kind: AppName, env: Record<string, string>): AppProcess {
    const name = `${kind}-${apps.length}`;
    const process = new AppProcess(
      name,
      kind,
      { LOG_LEVEL: 'verbose', SINK_WAIT_REPLICAS: '0', ...env },
      { onOutputLine: leaks.lineCollector(name) },
    );
    apps.push(process);

    return process;
  }

  const call = (
    target: AppProcess,
    method: string,
    path: string,
    key?: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) =>
    leaks.fetch(`${target.url}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : JSON_HEADERS),
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  function expectNoLeaks(): void {
    expect(leaks.recorded).toBeGreaterThan(0);
    expect(leaks.leaks()).toEqual([]);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-security-'));
    // PostgreSQL runs as the postgres user, who must reach its data folder inside this one.
    chmodSync(dir, 0o755);
    redis = await startRedis({ dir: join(dir, 'redis') });
    admin = new Redis(redis.url);
    const [command = 'ACL', ...args] = documentedAclRule(REDIS_PASSWORD);
    await admin.call(command, ...args);
    await admin.call('ACL', 'SETUSER', 'norights', 'on', `>${NO_RIGHTS_PASSWORD}`, 'resetkeys', 'nocommands');
    await admin.call('ACL', 'SETUSER', 'default', `>${REDIS_ADMIN_PASSWORD}`);
    await admin.auth(REDIS_ADMIN_PASSWORD);

    pg = await startPostgres({ dir: join(dir, 'pg'), database: 'postgres', durable: false });
    await pg.psql(`create role ${DB_USER} login password '${DB_PASSWORD}'`);
    await pg.psql(`create database ${DB_NAME} owner ${DB_USER}`);
    // The application role must log in with its password; postgres itself stays trusted for this spec's own reads.
    const hba = join(pg.dir, 'pg_hba.conf');
    writeFileSync(hba, `host all ${DB_USER} 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, 'utf8')}`);
    await pg.psql('select pg_reload_conf()');
  }, 120_000);

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.terminate()));
  });

  afterAll(async () => {
    admin?.disconnect();
    await redis?.stop();
    await pg?.stop('fast');
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs ingest and a sink as the documented Redis ACL user, with secrets from files and scoped keys', async () => {
    const keysFile = secretFile('api-keys', `# writer\n${KEY_RW}\n# reporting\n${KEY_RO}:sessions:ro\n`);
    const env = {
      // The URLs this run's global setup put in the environment are emptied: set, they would clash with the files.
      REDIS_URL: '',
      DATABASE_URL: '',
      REDIS_URL_FILE: secretFile('redis-url', `${redisUrl('spillway', REDIS_PASSWORD)}\n`),
      DATABASE_URL_FILE: secretFile('database-url', `${databaseUrl(DB_PASSWORD)}\n`),
      INGEST_RATE_LIMIT: '1000',
      INGEST_WAIT_TIMEOUT_MS: '200',
    };
    const ingest = app('ingest', { ...env, INGEST_API_KEYS_FILE: keysFile });
    const sink = app('sink', env);
    await Promise.all([ingest.start(), sink.start()]);
    await Promise.all([ingest.waitUntilReady(), sink.waitUntilReady()]);

    const writes = [
      await call(ingest, 'PUT', '/v1/sessions/s1', KEY_RW, { userId: 'u1' }),
      await call(ingest, 'PATCH', '/v1/sessions/s1', KEY_RW, { status: 'idle' }),
      await call(ingest, 'PUT', '/v1/sessions/s2', KEY_RW, { userId: 'u2' }),
      await call(ingest, 'DELETE', '/v1/sessions/s2', KEY_RW),
      await call(ingest, 'POST', '/v1/clicks', KEY_RW, { id: 'c1', sessionId: 's1', screen: 'home' }),
      await call(ingest, 'POST', '/v1/sessions/_bulk', KEY_RW, {
        ops: [{ op: 'put', id: 's3', doc: { userId: 'u3' } }],
      }),
      await call(ingest, 'POST', '/v1/clicks/_bulk', KEY_RW, { events: [{ sessionId: 's3', screen: 'pay' }] }),
    ];
    expect(writes.map((w) => w.status)).toEqual([202, 202, 202, 202, 202, 200, 200]);
    // The durability levels' commands: WAIT (no replica here, so it times out), and the sinks' commit notices.
    const replicated = await call(
      ingest,
      'PUT',
      '/v1/sessions/s4',
      KEY_RW,
      { userId: 'u4' },
      { durability: 'replicated' },
    );
    const persisted = await call(
      ingest,
      'PUT',
      '/v1/sessions/s5',
      KEY_RW,
      { userId: 'u5' },
      { durability: 'persisted' },
    );
    expect([replicated.status, persisted.status]).toEqual([202, 202]);
    expect(persisted.headers.get('durability')).toBe('persisted');

    const db = openDatabaseReader(`postgres://postgres@${LOOPBACK_HOST}:${pg.port}/${DB_NAME}`);
    try {
      await expectEventually(async () => {
        const rows = await db.query<{ id: string }>('select id from sessions order by id');
        expect(rows.map((r) => r.id)).toEqual(['s1', 's3', 's4', 's5']);
        expect(await db.query('select 1 from clicks')).toHaveLength(2);
      });
    } finally {
      await db.close();
    }
    expect((await call(ingest, 'GET', '/v1/sessions/s1', KEY_RO)).status).toBe(200);
    expect((await call(ingest, 'GET', '/v1/sessions?ids=s1,s3', KEY_RO)).status).toBe(200);

    // Redis refused no command of ingest or the sink: the documented rights are enough.
    expect(await admin.call('ACL', 'LOG')).toEqual([]);
    expectNoLeaks();
  });

  it('answers 401 without a valid key and 403 outside a key scope, repeating no key', async () => {
    const ingest = app('ingest', {
      REDIS_URL: redisUrl('spillway', REDIS_PASSWORD),
      DATABASE_URL: databaseUrl(DB_PASSWORD),
      INGEST_API_KEYS: `${KEY_RW},${KEY_RO}:sessions:ro`,
    });
    await ingest.start();
    await ingest.waitUntilReady();

    const answers = {
      noKey: await call(ingest, 'PUT', '/v1/sessions/a1', undefined, { userId: 'u' }),
      wrongKey: await call(ingest, 'GET', '/v1/sessions/a1', WRONG_REDIS_PASSWORD),
      prefixOfKey: await call(ingest, 'GET', '/v1/sessions/a1', KEY_RW.slice(0, -1)),
      keyAndMore: await call(ingest, 'GET', '/v1/sessions/a1', `${KEY_RW}x`),
      readOnlyWrite: await call(ingest, 'PUT', '/v1/sessions/a1', KEY_RO, { userId: 'u' }),
      readOnlyBulk: await call(ingest, 'POST', '/v1/sessions/_bulk', KEY_RO, { ops: [] }),
      otherCollection: await call(ingest, 'GET', '/v1/clicks/c1', KEY_RO),
      readOnlyRead: await call(ingest, 'GET', '/v1/sessions/a1', KEY_RO),
    };

    expect(Object.fromEntries(Object.entries(answers).map(([what, a]) => [what, a.status]))).toEqual({
      noKey: 401,
      wrongKey: 401,
      prefixOfKey: 401,
      keyAndMore: 401,
      readOnlyWrite: 403,
      readOnlyBulk: 403,
      otherCollection: 403,
      readOnlyRead: 404,
    });
    expect(JSON.parse(answers.readOnlyWrite.body)).toEqual({
      type: 'https://spillway.dev/problems/403',
      title: 'Forbidden',
      status: 403,
      detail: 'this API key may only read',
    });
    expect(answers.otherCollection.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(answers.otherCollection.body)).toMatchObject({
      detail: 'this API key may not use collection clicks',
    });
    expectNoLeaks();
  });

  it('shares one rate limit per key between two ingest replicas, answering 429 with Retry-After', async () => {
    const env = {
      REDIS_URL: redisUrl('spillway', REDIS_PASSWORD),
      DATABASE_URL: databaseUrl(DB_PASSWORD),
      INGEST_API_KEYS: `${KEY_RW},${KEY_RO}`,
      INGEST_RATE_LIMIT: '4',
    };
    const replicas = [app('ingest', env), app('ingest', env)];
    await Promise.all(replicas.map((r) => r.start()));
    await Promise.all(replicas.map((r) => r.waitUntilReady()));

    // 20 writes at once, half to each replica: one second's burst (4) goes through, whichever replica each reached; one
    // more may, if answering took longer than an interval (250 ms) on a busy machine.
    const ids = Array.from({ length: 20 }, (_, i) => `rl-${i}`);
    const answers = await Promise.all(
      ids.map((id, i) => call(replicas[i % 2]!, 'PUT', `/v1/sessions/${id}`, KEY_RW, { userId: 'u' })),
    );
    const accepted = ids.filter((_, i) => answers[i]!.status === 202);
    expect(accepted.length).toBeGreaterThanOrEqual(4);
    expect(accepted.length).toBeLessThanOrEqual(6);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(20 - accepted.length);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(JSON.parse(refused.body)).toMatchObject({ status: 429, title: 'Too Many Requests' });
    // A refused write did no work: Redis holds exactly the accepted ones.
    const written = (await admin.keys('spw:{sessions.*}:doc:rl-*')).map((key) => key.replace(/^.*:doc:/, ''));
    expect(written.sort()).toEqual([...accepted].sort());

    // Another key has its own limit; the first one's comes back within the second.
    expect((await call(replicas[1]!, 'GET', '/v1/sessions/r0', KEY_RO)).status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await call(replicas[1]!, 'GET', '/v1/sessions/r0', KEY_RW)).status).toBe(404);
    expectNoLeaks();
  });

  it('counts requests per client address when no keys are set, and never limits /health or /metrics', async () => {
    const ingest = app('ingest', {
      REDIS_URL: redisUrl('spillway', REDIS_PASSWORD),
      DATABASE_URL: databaseUrl(DB_PASSWORD),
      INGEST_RATE_LIMIT: '2',
    });
    await ingest.start();
    await ingest.waitUntilReady();

    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => call(ingest, 'GET', `/v1/sessions/addr-${i}`)),
    );
    const others = await Promise.all(
      ['/health/live', '/health/ready', '/metrics'].map((path) => call(ingest, 'GET', path)),
    );

    // The burst (2), and one more if answering took longer than an interval (500 ms) on a busy machine.
    const served = answers.filter((a) => a.status === 404).length;
    expect(served === 2 || served === 3).toBe(true);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(6 - served);
    expect(others.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(await admin.exists('spw:{rate:addr:127.0.0.1}:limit')).toBe(1);
    expectNoLeaks();
  });

  it('fails readiness with a clear message as a Redis user without the rights', async () => {
    const env = { REDIS_URL: redisUrl('norights', NO_RIGHTS_PASSWORD), DATABASE_URL: databaseUrl(DB_PASSWORD) };
    const started = [app('ingest', env), app('sink', env)];
    await Promise.all(started.map((a) => a.start()));

    await expectEventually(async () => {
      for (const target of started) {
        const ready = await call(target, 'GET', '/health/ready');
        expect(ready.status).toBe(503);
        // Ingest answers problem+json with the checks inside, the sink Terminus's own object: both name Redis's refusal.
        expect(ready.body).toContain(
          `"redis":{"message":"NOPERM this user has no permissions to run the 'ping' command"`,
        );
      }
    }, 20_000);
    expectNoLeaks();
  });

  it('shows no secret when Redis refuses the password or PostgreSQL refuses the login', async () => {
    const wrongRedis = {
      REDIS_URL: redisUrl('spillway', WRONG_REDIS_PASSWORD),
      DATABASE_URL: databaseUrl(DB_PASSWORD),
      INGEST_API_KEYS: KEY_RW,
      INGEST_RATE_LIMIT: '100',
    };
    const wrongDatabase = {
      REDIS_URL: redisUrl('spillway', REDIS_PASSWORD),
      DATABASE_URL: databaseUrl(WRONG_DB_PASSWORD),
      INGEST_API_KEYS: KEY_RW,
    };
    const noRedisPassword = { ...wrongDatabase, REDIS_URL: `redis://${LOOPBACK_HOST}:${redis.port}` };
    const started = [
      app('ingest', wrongRedis),
      app('sink', wrongRedis),
      app('ingest', wrongDatabase),
      app('sink', wrongDatabase),
      app('sink', noRedisPassword),
    ];
    await Promise.all(started.map((a) => a.start()));
    const [ingestWrongRedis, sinkWrongRedis, ingestWrongDb, sinkWrongDb, sinkNoPassword] = started;

    await expectEventually(async () => {
      for (const target of [ingestWrongRedis!, sinkWrongRedis!, sinkWrongDb!, sinkNoPassword!]) {
        expect((await call(target, 'GET', '/health/ready')).status).toBe(503);
      }
    }, 20_000);
    expect((await call(ingestWrongRedis!, 'PUT', '/v1/sessions/x1', KEY_RW, { userId: 'u' })).status).toBe(503);
    expect((await call(ingestWrongRedis!, 'GET', '/v1/sessions/x1', WRONG_DB_PASSWORD)).status).toBe(503);
    // A document Redis does not hold is read through from PostgreSQL, which refuses the login.
    expect((await call(ingestWrongDb!, 'GET', '/v1/sessions/not-in-redis', KEY_RW)).status).toBe(503);
    expect((await call(ingestWrongDb!, 'GET', '/v1/sessions/x1', KEY_RO)).status).toBe(401);
    for (const target of started) {
      await call(target, 'GET', '/metrics');
    }
    expect(sinkWrongDb!.output.join('\n')).toMatch(/password authentication failed/);
    expect(sinkWrongRedis!.output.join('\n')).toMatch(/WRONGPASS/);
    expectNoLeaks();
  });

  describe('a start refused for its settings', () => {
    const start = (kind: AppName, env: Record<string, string>) => {
      const result = spawnSync(process.execPath, [join(ROOT, 'dist', 'apps', kind, 'main.js')], {
        env: { ...process.env, PORT: '0', REDIS_URL: redis.url, ...env },
        encoding: 'utf8',
        timeout: 20_000,
      });
      leaks.record(`${kind} start`, `${result.stdout}${result.stderr}`);
      expect(result.status).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);

      return (JSON.parse(lines[0] ?? 'null') as { message: string }).message;
    };

    it.each(['ingest', 'sink'] as const)(
      '%s: one line naming both variables when NAME and NAME_FILE are set',
      (kind) => {
        const path = secretFile('db-url-twice', databaseUrl(DB_PASSWORD));

        const message = start(kind, { DATABASE_URL: databaseUrl(WRONG_DB_PASSWORD), DATABASE_URL_FILE: path });

        expect(message).toBe('DATABASE_URL and DATABASE_URL_FILE are both set; set one of them');
        expectNoLeaks();
      },
    );

    it('one line naming the variable and the path of a file that cannot be read', () => {
      const missing = join(dir, 'no-such-secret');

      expect(start('ingest', { REDIS_PASSWORD_FILE: missing })).toBe(
        `REDIS_PASSWORD_FILE: cannot read ${missing} (ENOENT)`,
      );
    });

    it('one line that shows a bad URL with its password masked, and never a key', () => {
      const message = start('ingest', {
        REDIS_URL: `http://spillway:${REDIS_PASSWORD}@${LOOPBACK_HOST}:1`,
        INGEST_API_KEYS: `${KEY_RW},${KEY_RO}:sessions:rx`,
        INGEST_RATE_LIMIT: '0',
      });

      expect(message).toContain(`REDIS_URL must be a redis:// or rediss:// URL (got "http://spillway:***@`);
      expect(message).toContain('INGEST_RATE_LIMIT must not be less than 1');
      const keys = start('ingest', { INGEST_API_KEYS: `${KEY_RW},${KEY_RO}:sessions:rx` });
      expect(keys).toBe('Invalid environment: INGEST_API_KEYS entry 2 has an access other than rw or ro');
      expectNoLeaks();
    });
  });
});
