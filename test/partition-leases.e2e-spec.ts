import { DEFAULT_SINK_GROUP } from '@app/contracts';
import { expectEventually } from './utils/expect-eventually';
import { metricSum } from './utils/metrics';
import { PipelineFixture } from './utils/pipeline-fixture';
import { testDatabase } from './utils/servers';
import { runWorkload } from './utils/workload';

const PARTITIONS = 8;
const LEASE_TTL_MS = 3000;

/**
 * Sink processes sharing the partitions of two 8-partition collections through their leases, under load: 3 sinks
 * split them 3, 3 and 2; one stopped with SIGTERM gives its leases up at once and the others take them; one killed
 * with SIGKILL while it holds entries loses its leases after the TTL, and its entries are reclaimed; a sink that joins
 * gets its share from the others; and every write lands.
 *
 * Real: ingest app (in-process), Redis, PostgreSQL, sink processes (the built app). Mocked: nothing.
 */
describe('partition leases', () => {
  let fx: PipelineFixture;

  const startSink = (name: string) => fx.startSink({ SINK_LEASE_TTL_MS: String(LEASE_TTL_MS) }, name);

  /** Per partition of a collection, the sinks whose lease on it has not lapsed, by Redis's clock. */
  const leaseHolders = async (collection: string): Promise<string[][]> => {
    const [seconds, micros] = await fx.redis.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);

    return Promise.all(
      fx
        .partitionsOf(collection)
        .map((keys) => fx.redis.zrangebyscore(keys.lease(DEFAULT_SINK_GROUP), `(${now}`, '+inf')),
    );
  };

  /** Every partition of both collections has one live holder, among `names`, each holding its fair share. */
  const expectShared = async (names: string[]) => {
    for (const collection of [fx.docs, fx.events]) {
      const holders = await leaseHolders(collection);
      expect({ collection, holders: holders.map((h) => h.length) }).toEqual({
        collection,
        holders: holders.map(() => 1),
      });
      const counts = names.map((name) => holders.filter((h) => h[0] === name).length);
      const fair = counts.every((n) => Math.abs(n - PARTITIONS / names.length) < 1);
      expect({ collection, counts, fair, total: counts.reduce((a, b) => a + b, 0) }).toEqual({
        collection,
        counts,
        fair: true,
        total: PARTITIONS,
      });
    }
  };

  /** Every sink named in a live lease of either collection. */
  const leaseNames = async () => (await leaseHolders(fx.docs)).concat(await leaseHolders(fx.events)).flat();

  beforeEach(async () => {
    fx = new PipelineFixture({}, testDatabase('postgres'), PARTITIONS);
    await fx.start();
  });

  afterEach(async () => {
    await fx.close();
  });

  it('shares 8 partitions among the sinks as they stop, crash and join, and every write lands', async () => {
    const [first, leaving, victim] = await Promise.all(['sink-a', 'sink-b', 'sink-c'].map(startSink));
    await expectEventually(() => expectShared(['sink-a', 'sink-b', 'sink-c']), 20_000);
    const owned = await Promise.all(
      [first!, leaving!, victim!].map(async (s) =>
        metricSum(await s.metrics(), 'spillway_sink_partitions_owned', { collection: fx.docs }),
      ),
    );
    expect(owned.reduce((a, b) => a + b, 0)).toBe(PARTITIONS);

    let loading = true;
    const eventIds = new Set<string>();
    const load = (async () => {
      for (let chunk = 0; loading; chunk++) {
        const sent = await runWorkload(fx, {
          ops: 300,
          ids: 200,
          events: 100,
          seed: chunk,
          concurrency: 8,
          prefix: `c${chunk}`,
        });
        sent.eventIds.forEach((id) => eventIds.add(id));
      }
    })();

    // SIGTERM: the batch in hand commits, the leases are given up on the way out, the others take them at once.
    const termDrainMs = await leaving!.terminate();
    expect(await leaseNames()).not.toContain(leaving!.name);
    const termAt = Date.now();
    await expectEventually(() => expectShared(['sink-a', 'sink-c']), 20_000, 50);
    const termTakeoverMs = Date.now() - termAt;

    // SIGKILL while it holds delivered, unacked entries: its leases lapse after the TTL, its entries are reclaimed.
    let held = 0;
    await expectEventually(
      async () => {
        victim!.signal('SIGSTOP');
        held = await fx.heldBy(fx.docs, victim!.name);
        if (held === 0) {
          victim!.signal('SIGCONT');
          throw new Error('the victim holds nothing yet');
        }
      },
      20_000,
      5,
    );
    victim!.signal('SIGKILL');
    await victim!.waitForExit();
    const killAt = Date.now();
    await expectEventually(() => expectShared(['sink-a']), 30_000, 50);
    const killTakeoverMs = Date.now() - killAt;
    await expectEventually(async () => expect(await fx.heldBy(fx.docs, victim!.name)).toBe(0), 30_000, 50);
    const reclaimMs = Date.now() - killAt;

    // A sink joins: the one left gives up half its partitions, which the newcomer takes.
    const joined = await startSink('sink-d');
    const joinAt = Date.now();
    await expectEventually(() => expectShared(['sink-a', 'sink-d']), 30_000, 50);
    const joinMs = Date.now() - joinAt;

    loading = false;
    await load;
    await expectEventually(async () => {
      expect(await fx.backlog(fx.docs)).toBe(0);
      expect(await fx.backlog(fx.events)).toBe(0);
    }, 60_000);
    const [inRedis, inTable] = await Promise.all([fx.redisDocuments(), fx.tableRows()]);
    expect([...inTable.keys()].sort()).toEqual([...inRedis.keys()].sort());
    for (const [id, expected] of inRedis) {
      expect(inTable.get(id), id).toEqual(expected);
    }
    expect(await fx.eventIds()).toEqual([...eventIds].sort());
    expect(metricSum(await first!.metrics(), 'spillway_sink_reclaimed_total')).toBeGreaterThanOrEqual(held);
    expect(metricSum(await joined.metrics(), 'spillway_sink_partitions_owned', { collection: fx.docs })).toBe(
      PARTITIONS / 2,
    );
    // SIGKILL: the leases last the TTL from the victim's last renewal (at most a third of the TTL before the kill).
    expect(killTakeoverMs).toBeGreaterThanOrEqual((2 * LEASE_TTL_MS) / 3 - 100);
    expect(termTakeoverMs).toBeLessThan(LEASE_TTL_MS);
    console.log(
      `partition leases (TTL ${LEASE_TTL_MS} ms): SIGTERM drained in ${termDrainMs} ms, its partitions taken ` +
        `${termTakeoverMs} ms after the exit; SIGKILL holding ${held} entries: partitions taken after ` +
        `${killTakeoverMs} ms, entries reclaimed after ${reclaimMs} ms; a joining sink had its share ${joinMs} ms ` +
        `after it was ready; ${inRedis.size} documents and ${eventIds.size} events landed`,
    );
  });
});
