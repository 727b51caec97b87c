import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { type RedisServer, startRedis } from '../tools/local-stack';
import { bootIngest, expectAccepted } from './utils/api-helpers';
import { forEachDialect } from './utils/dialects';
import { expectEventually } from './utils/expect-eventually';

/**
 * Ingest while its Redis dies: a write whose reply was lost says its outcome is unknown (Redis may have run it),
 * a write sent while Redis is down is a plain 503 that changed nothing, and writes work again once Redis is back.
 * Found by the chaos run: a _bulk of events answered 503 whose events had in fact landed. Once with PostgreSQL and
 * once with MariaDB behind ingest (the version floors of ids Redis does not hold are read there).
 *
 * Real: ingest app (in-process), its own redis-server, PostgreSQL or MariaDB. Mocked: nothing.
 */
describe('ingest during a Redis crash', () => {
  forEachDialect((database) => {
    let dir: string;
    let redisServer: RedisServer;
    let app: NestFastifyApplication;
    let admin: Redis;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'spillway-outage-'));
      chmodSync(dir, 0o755);
      redisServer = await startRedis({ dir, appendOnly: true, appendFsync: 'always' });
      app = await bootIngest({
        REDIS_URL: redisServer.url,
        DATABASE_URL: database.url,
        COLLECTIONS_DIR: 'config/collections',
      });
      admin = new Redis(redisServer.url, { protocol: 2, maxRetriesPerRequest: null });
      admin.on('error', () => undefined);
    });

    afterAll(async () => {
      admin.disconnect();
      await app?.close();
      await redisServer?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const put = (id: string) =>
      app.inject({
        method: 'PUT',
        url: `/v1/sessions/${id}`,
        headers: { 'content-type': 'application/json' },
        payload: { userId: 'u1' },
      });
    const events = (ids: string[]) =>
      app.inject({
        method: 'POST',
        url: '/v1/clicks/_bulk',
        headers: { 'content-type': 'application/json' },
        payload: { events: ids.map((id) => ({ id, sessionId: 's1', screen: 'home' })) },
      });

    /** Holds every command Redis receives unanswered, then kills Redis while `request` waits for its reply. */
    async function crashWhileInFlight<T>(request: () => Promise<T>): Promise<T> {
      await admin.call('CLIENT', 'PAUSE', '5000', 'ALL');
      const answer = request();
      await new Promise((resolve) => setTimeout(resolve, 300));
      redisServer.kill('SIGKILL');
      // start() does nothing while this process has not yet seen the exit (it would leave Redis down).
      await redisServer.exited;

      return answer;
    }

    it('answers 503 "outcome unknown" for writes in flight, plain 503 while down, 202 once Redis is back', async () => {
      expectAccepted(await put('before'), 'before');

      const inFlight = await crashWhileInFlight(() => put('before'));
      expect(inFlight.statusCode).toBe(503);
      expect(inFlight.json()).toMatchObject({
        status: 503,
        outcome: 'unknown',
        detail: expect.stringMatching(/may or may not have been applied/),
      });

      const whileDown = await put('during');
      expect(whileDown.statusCode).toBe(503);
      expect(whileDown.json()).not.toHaveProperty('outcome');

      await redisServer.start();
      await expectEventually(async () => {
        expectAccepted(await put('after'), 'after');
      }, 10_000);
      expect(await admin.exists('spw:{sessions.0}:doc:during')).toBe(0);
    });

    it('lists the events of a _bulk in flight as outcome unknown instead of one 503 saying nothing changed', async () => {
      await expectEventually(async () => {
        expectAccepted(await put('ready'), 'ready');
      }, 10_000);

      const inFlight = await crashWhileInFlight(() => events(['e-1', 'e-2', 'e-3']));
      expect(inFlight.statusCode).toBe(200);
      for (const result of inFlight.json().results) {
        expect(result.error).toMatchObject({ status: 503, outcome: 'unknown' });
      }

      const whileDown = await events(['e-4']);
      expect(whileDown.statusCode).toBe(503);
      expect(whileDown.json()).not.toHaveProperty('outcome');
      await redisServer.start();
    });
  });
});
