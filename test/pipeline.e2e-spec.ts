import { ChangeOp, encodeEntry, MAX_DOCUMENT_DEPTH, partitionKeys, TOMBSTONE_LINGER_S } from '@app/contracts';
import type { DatabaseKind } from '../tools/local-stack';
import { forEachDialect } from './utils/dialects';
import { expectEventually } from './utils/expect-eventually';
import { PipelineFixture } from './utils/pipeline-fixture';
import { metricSum } from './utils/metrics';
import { runWorkload } from './utils/workload';

/** `levels` objects nested in one another around a string. */
const nested = (levels: number): unknown => (levels === 0 ? 'leaf' : { a: nested(levels - 1) });

/**
 * A document each database refuses for its content, though it is valid JSON, and the reason its dead letter gives.
 * PostgreSQL's jsonb cannot store a NUL in text (ingest refuses it, so only a hand-made entry carries one); MariaDB's
 * JSON check refuses a document nested 32 levels deep or more.
 */
const POISON: Readonly<Record<DatabaseKind, { doc: Record<string, unknown>; reason: RegExp }>> = {
  postgres: { doc: { owner: 'b\u0000c' }, reason: /rejected by PostgreSQL: 22P05/ },
  mariadb: {
    doc: { owner: 'b', deep: nested(40) },
    reason: /rejected by MariaDB: content: error 4025 \(SQLSTATE 23000\)/,
  },
};

/**
 * The whole pipeline against real Redis, the database and sink processes (the built app), once on PostgreSQL and once
 * on MariaDB: ingest in-process, N sink replicas in one consumer group, tables compared row for row with Redis.
 *
 * Real: ingest app, Redis, PostgreSQL or MariaDB, sink processes. Mocked: nothing.
 */
describe('pipeline', () => {
  forEachDialect((database) => {
    let fx: PipelineFixture;

    const startSink = (env: Record<string, string> = {}) => fx.startSink(env);
    const startSinks = (count: number) => Promise.all(Array.from({ length: count }, () => startSink()));

    const drained = async (timeoutMs = 60_000) => {
      await expectEventually(async () => {
        expect(await fx.backlog(fx.docs)).toBe(0);
        expect(await fx.backlog(fx.events)).toBe(0);
      }, timeoutMs);
    };

    const expectTablesEqualRedis = async () => {
      const [inRedis, inTable] = await Promise.all([fx.redisDocuments(), fx.tableRows()]);
      expect([...inTable.keys()].sort()).toEqual([...inRedis.keys()].sort());
      for (const [id, expected] of inRedis) {
        expect(inTable.get(id), id).toEqual(expected);
      }
    };

    beforeEach(async () => {
      fx = new PipelineFixture({}, database);
      await fx.start();
    });

    afterEach(async () => {
      await fx.close();
    });

    it('converges: with 3 sink processes, tables equal Redis row for row and every event lands once', async () => {
      await startSinks(3);
      const started = Date.now();
      const sent = await runWorkload(fx, { ops: 4000, ids: 300, events: 1000, seed: 42, concurrency: 32 });
      const sentMs = Date.now() - started;
      await drained();
      const drainMs = Date.now() - started - sentMs;

      await expectTablesEqualRedis();
      expect(await fx.eventIds()).toEqual([...sent.eventIds].sort());
      const rows = (await fx.tableRows()).size;
      const pages = await Promise.all(fx.sinks.map((s) => s.metrics()));
      const written = pages.map((p) => metricSum(p, 'spillway_sink_entries_total', { collection: fx.docs }));
      expect(written.filter((n) => n > 0).length).toBeGreaterThan(1); // the group shared the work
      console.log(
        `pipeline: ${sent.accepted} document writes + ${sent.eventIds.size} events acknowledged in ${sentMs} ms, ` +
          `drained ${drainMs} ms later; ${rows} rows, entries settled per sink: ${written.join(' / ')}`,
      );
    });

    it('recovers a batch from a sink killed with SIGKILL mid-batch: another replica reclaims it and it lands once', async () => {
      const [victim, survivor] = await Promise.all([startSink(), startSink()]);
      const load = runWorkload(fx, { ops: 3000, ids: 200, events: 500, seed: 7, concurrency: 16 });
      // Freeze the victim at a moment it holds delivered, unacked entries, then kill it there.
      let held = 0;
      await expectEventually(
        async () => {
          victim.signal('SIGSTOP');
          held = 0;
          try {
            // NOGROUP until a replica has created the group; a frozen victim must not keep the other from doing so.
            held = await fx.heldBy(fx.docs, victim.name);
          } finally {
            if (held === 0) {
              victim.signal('SIGCONT');
            }
          }
          if (held === 0) {
            throw new Error('victim holds nothing yet');
          }
        },
        20_000,
        5,
      );
      victim.signal('SIGKILL');
      await victim.waitForExit();
      const sent = await load;
      await drained();

      await expectTablesEqualRedis();
      expect(await fx.eventIds()).toEqual([...sent.eventIds].sort());
      expect(metricSum(await survivor.metrics(), 'spillway_sink_reclaimed_total')).toBeGreaterThanOrEqual(held);
    });

    it('writes a backlog of many versions of one document as one row write, across batches', async () => {
      for (let step = 1; step <= 300; step++) {
        expect((await fx.request('PUT', `/v1/${fx.docs}/hot`, { owner: 'a', step })).status).toBe(202);
      }
      const sink = await startSink({ SINK_BATCH_SIZE: '50' }); // six batches
      await drained();

      expect((await fx.tableRows()).get('hot')).toEqual({ version: 300, doc: { owner: 'a', step: 300, id: 'hot' } });
      const page = await sink.metrics();
      const written = ['inserted', 'updated'].map((outcome) =>
        metricSum(page, 'spillway_sink_entries_total', { collection: fx.docs, outcome }),
      );
      expect(written).toEqual([1, 0]);
      expect(metricSum(page, 'spillway_sink_entries_total', { collection: fx.docs, outcome: 'stale' })).toBe(299);
    });

    it("lets a deleted document's hash expire once the delete is written, and not one written again since", async () => {
      const send = async (method: 'PUT' | 'DELETE', id: string, body?: object) =>
        expect((await fx.request(method, `/v1/${fx.docs}/${id}`, body)).status).toBe(202);
      await send('PUT', 'gone', { owner: 'a' });
      await send('DELETE', 'gone');
      await send('PUT', 'back', { owner: 'a' });
      await send('DELETE', 'back');
      await send('PUT', 'back', { owner: 'b' }); // the delete before it is superseded by the time the sink reads it
      await startSink();
      await drained();

      const rows = await fx.tableRows();
      expect(rows.has('gone')).toBe(false);
      expect(rows.get('back')).toEqual({ version: 3, doc: { owner: 'b', id: 'back' } });
      const keys = partitionKeys(fx.docs);
      const goneTtl = await fx.redis.ttl(keys.document('gone'));
      expect(goneTtl).toBeGreaterThan(0);
      expect(goneTtl).toBeLessThanOrEqual(TOMBSTONE_LINGER_S);
      expect(await fx.redis.ttl(keys.document('back'))).toBe(-1);
    });

    it('carries on after Redis loses its data: the group is made again, and new writes continue above the table', async () => {
      await startSink();
      for (let step = 1; step <= 3; step++) {
        expect((await fx.request('PUT', `/v1/${fx.docs}/kept`, { owner: 'a', step })).status).toBe(202);
      }
      await drained();
      await fx.redis.flushall();

      const put = await fx.request('PUT', `/v1/${fx.docs}/kept`, { owner: 'a', step: 4 });
      expect(put.status).toBe(202);
      expect(put.body).toEqual({ id: 'kept', version: 4 });
      await expectEventually(async () => {
        expect((await fx.tableRows()).get('kept')).toEqual({ version: 4, doc: { owner: 'a', step: 4, id: 'kept' } });
      });
      await drained();
    });

    it('acks a lone write once it is committed, not when the sink next stops waiting for entries', async () => {
      const sink = await startSink({ SINK_BLOCK_MS: '20000' });
      await drained();
      expect((await fx.request('PUT', `/v1/${fx.docs}/lone`, { owner: 'a' })).status).toBe(202);

      // The write wakes the waiting read at once; its ack must not queue behind a read that waits the full 20 s.
      await drained(5_000);
      expect((await fx.tableRows()).get('lone')).toEqual({ version: 1, doc: { owner: 'a', id: 'lone' } });
      sink.signal('SIGKILL'); // SIGTERM would wait out the 20 s read
      await sink.waitForExit();
    });

    it('stamps rows with when ingest accepted the write: created and updated for documents, ingested for events', async () => {
      const msOf = async (table: string, column: string, id: string) => {
        const rows = await fx.db.rows<Record<string, unknown>>(table, { columns: ['id', column] });

        return (rows.find((row) => row.id === id)?.[column] as Date | undefined)?.getTime();
      };
      const before = Date.now();
      expect((await fx.request('PUT', `/v1/${fx.docs}/stamped`, { owner: 'a' })).status).toBe(202);
      expect((await fx.request('POST', `/v1/${fx.events}`, { id: 'stamped-event', n: 1 })).status).toBe(202);
      const afterFirst = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await fx.request('PUT', `/v1/${fx.docs}/stamped`, { owner: 'b' })).status).toBe(202);
      const afterSecond = Date.now();
      await startSink();
      await drained();

      const created = await msOf(fx.docs, 'created_at', 'stamped');
      const updated = await msOf(fx.docs, 'updated_at', 'stamped');
      const ingested = await msOf(fx.events, 'ingested_at', 'stamped-event');
      // The two versions were coalesced into one insert, which carries the newest version's time.
      expect(created).toBe(updated);
      expect(updated).toBeGreaterThan(afterFirst);
      expect(updated).toBeLessThanOrEqual(afterSecond);
      expect(ingested).toBeGreaterThanOrEqual(before);
      expect(ingested).toBeLessThanOrEqual(afterFirst);
    });

    it('sends a poison entry to the dead-letter stream with its reason while its batch-mates land', async () => {
      const poison = POISON[database.kind];
      expect((await fx.request('PUT', `/v1/${fx.docs}/good-1`, { owner: 'a' })).status).toBe(202);
      // The poison goes straight onto the stream, laid out as the write scripts lay out an entry
      // (libs/redis/src/lua/includes/appendChange.lua).
      await fx.redis.xadd(
        fx.streamOf(fx.docs, 'poison'),
        '*',
        ...encodeEntry(ChangeOp.PUT, 'poison', 1, Date.now(), JSON.stringify({ ...poison.doc, id: 'poison' })),
      );
      expect((await fx.request('PUT', `/v1/${fx.docs}/good-2`, { owner: 'c' })).status).toBe(202);
      await startSink();
      await drained();

      const rows = await fx.tableRows();
      expect([...rows.keys()].sort()).toEqual(['good-1', 'good-2']);
      const letters = (await fx.redis.xrange(partitionKeys(fx.docs).deadLetters, '-', '+')) as [string, string[]][];
      expect(letters).toHaveLength(1);
      const fields = letters[0]?.[1] ?? [];
      expect(fields[0]).toMatch(/^3 put poison 1 \d+$/);
      expect(JSON.parse(fields[1] ?? 'null')).toEqual({ ...poison.doc, id: 'poison' });
      expect(fields[fields.indexOf('reason') + 1]).toMatch(poison.reason);
    });

    it(`lands every document ingest acknowledges, up to the ${MAX_DOCUMENT_DEPTH} levels deep it takes`, async () => {
      // A document `levels + 1` deep (its own level, then `deep`'s): ingest takes MAX_DOCUMENT_DEPTH levels, which
      // every database stores (MariaDB's JSON check takes 31 and refuses 32).
      for (const levels of [MAX_DOCUMENT_DEPTH - 2, MAX_DOCUMENT_DEPTH - 1]) {
        const reply = await fx.request('PUT', `/v1/${fx.docs}/deep-${levels}`, { owner: 'a', deep: nested(levels) });
        expect(reply.status, `${levels + 1} levels`).toBe(202);
      }
      const tooDeep = await fx.request('PUT', `/v1/${fx.docs}/deep-more`, {
        owner: 'a',
        deep: nested(MAX_DOCUMENT_DEPTH),
      });
      expect(tooDeep.status).toBe(400);
      await startSink();
      await drained();

      const letters = (await fx.redis.xrange(partitionKeys(fx.docs).deadLetters, '-', '+')) as [string, string[]][];
      expect(letters.map(([, fields]) => `${fields[0]}: ${fields[fields.indexOf('reason') + 1]}`)).toEqual([]);
      await expectTablesEqualRedis();
    });

    it('waits out a database outage: nothing is acked while it is down, everything lands after it returns', async () => {
      await startSinks(2);
      await runWorkload(fx, { ops: 300, ids: 100, events: 0, seed: 3, prefix: 'pre' });
      await drained();
      // Ids Redis holds take writes during the outage; ids it does not (deleted, never written) need the database: 503.
      await database.stop('clean');
      try {
        const during = await runWorkload(fx, {
          ops: 600,
          ids: 100,
          events: 100,
          seed: 4,
          prefix: 'pre',
          tolerateUnavailable: true,
        });
        expect(during.accepted).toBeGreaterThan(0);
        await new Promise((resolve) => setTimeout(resolve, 2000));
        expect(await fx.backlog(fx.docs)).toBeGreaterThanOrEqual(during.accepted);
        expect(await fx.backlog(fx.events)).toBe(100);
        for (const sink of fx.sinks) {
          expect(await sink.readyStatus()).toBe(503);
        }
      } finally {
        await database.start();
      }
      await drained();
      await expectTablesEqualRedis();
      expect((await fx.eventIds()).length).toBe(100);
    });

    it('drains on SIGTERM: the stopped consumer leaves nothing pending and leaves the group', async () => {
      const [stopping] = await Promise.all([startSink(), startSink()]);
      const load = runWorkload(fx, { ops: 2000, ids: 200, events: 200, seed: 11 });
      await expectEventually(async () =>
        expect(metricSum(await stopping.metrics(), 'spillway_sink_entries_total')).toBeGreaterThan(0),
      );
      const stoppedAt = Date.now();
      stopping.signal('SIGTERM');
      // Nest closes the app, then re-raises SIGTERM so the exit status tells it was stopped, not crashed.
      expect(await stopping.waitForExit()).toEqual({ code: null, signal: 'SIGTERM' });
      expect(Date.now() - stoppedAt).toBeLessThan(Number(fx.sinkEnv.SINK_SHUTDOWN_MS));
      for (const collection of [fx.docs, fx.events]) {
        expect(await fx.heldBy(collection, stopping.name)).toBe(0);
        for (const { stream } of fx.partitionsOf(collection)) {
          const consumers = (await fx.redis.xinfo('CONSUMERS', stream, 'spillway')) as unknown[][];
          expect(consumers.map((c) => c[c.indexOf('name') + 1])).not.toContain(stopping.name);
        }
      }
      await load;
      await drained();
      await expectTablesEqualRedis();
    });
  });
});
