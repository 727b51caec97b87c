// The baseline of phase 2: PUT /v1/:collection/:id on a bare Fastify 5 server that calls the same writeDocuments Lua
// as ingest, without Nest, schema checks, metrics or problem+json. Run as its own process by ingest-phase.ts (under
// tsx); env: REDIS_URL, PORT. Answers 202 {"id","version"} as ingest does.
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { defineSpillwayScripts, ScriptErrorCode } from '@app/redis';
import { callWrite, emptyFloor, putArgs } from './redis-writes';

async function main(): Promise<void> {
  const redis = defineSpillwayScripts(
    new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { protocol: 2, enableOfflineQueue: false }),
  );

  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.get('/health/live', () => Promise.resolve({ status: 'ok' }));
  app.put<{ Params: { id: string } }>('/v1/:collection/:id', async (request, reply) => {
    const { id } = request.params;
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return reply.code(400).send({ status: 400 });
    const json = JSON.stringify({ id, ...body });
    const now = Date.now();
    // Same arguments as DocumentStore; the floor says "nothing in PostgreSQL" for an id Redis lacks.
    let [version] = await callWrite(redis, putArgs(id, json, now, ''));
    if (version === ScriptErrorCode.NEED_FLOOR) {
      [version] = await callWrite(redis, putArgs(id, json, now, emptyFloor(now)));
    }

    return reply.code(202).send({ id, version });
  });

  await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
  process.on('SIGTERM', () => {
    void app.close().then(() => {
      redis.disconnect();
      process.exit(0);
    });
  });
  // Leave with the bench, also when it was killed before it could stop this server.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && process.exit(0), 1000).unref();
}

main().catch((error: unknown) => {
  process.stderr.write(`bare server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
