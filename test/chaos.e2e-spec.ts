import type { DatabaseKind } from '../tools/local-stack';
import { faultKindsFor, type FaultKind } from '../tools/chaos/faults';
import { formatChaosReport } from '../tools/chaos/report';
import { type ChaosOptions, type ChaosReport, runChaos } from '../tools/chaos/runner';

const DATABASES: { kind: DatabaseKind; label: string; restarts: string }[] = [
  { kind: 'postgres', label: 'PostgreSQL', restarts: 'fast and immediate shutdowns' },
  { kind: 'mariadb', label: 'MariaDB', restarts: 'mariadb-admin shutdown and SIGKILL' },
];

/**
 * A short chaos run (npm run chaos, bounded: 20 s of load, longer until each fault kind has struck) on each database:
 * its own Redis (AOF, appendfsync always), database, ingest and three sink processes under seeded traffic while
 * every kind of fault strikes at least once, the database's own restarts among them; then the tables must hold
 * exactly what was acknowledged. The full run's report is in docs/testing.md. `-t "on MariaDB"` runs one database.
 *
 * Real: everything (built apps, Redis, PostgreSQL or MariaDB). Mocked: nothing.
 *
 * A loop rather than describe.each, whose `$label` comes out quoted ('MariaDB'), which `-t "on MariaDB"` misses.
 */
/**
 * A short run with `faults` (and the options given): 3 sinks, 16 clients over 500 ids, 2 poison entries, seeded by
 * SPILLWAY_CHAOS_SEED (default 7), going on until every fault has struck. Checks what every run must show: each fault
 * struck, real traffic, no mismatch, the poison dead-lettered once each, no failure. Returns the report.
 */
async function runShortChaos(
  faults: FaultKind[],
  options: Pick<ChaosOptions, 'database' | 'cluster' | 'sentinel' | 'durability' | 'duration' | 'drainTimeoutMs'>,
): Promise<ChaosReport> {
  const report = await runChaos({
    ...options,
    seed: Number(process.env.SPILLWAY_CHAOS_SEED ?? 7),
    replicas: 3,
    clients: 16,
    ids: 500,
    faults,
    finishFaultRound: true,
    poison: 2,
    claimIdleMs: 2000,
  });
  console.log(formatChaosReport(report));

  expect(Object.keys(report.faults.injected).sort()).toEqual([...faults].sort());
  expect(report.traffic.acknowledgedDocumentWrites).toBeGreaterThan(1000);
  expect(report.verdict.examples).toEqual([]);
  expect(report.verdict.mismatches).toBe(0);
  expect(report.verdict.deadLetters).toHaveLength(2);
  expect(report.failures).toEqual([]);

  return report;
}

for (const { kind, label, restarts } of DATABASES) {
  describe(`chaos (short run) on ${label}`, () => {
    it(`loses, duplicates and resurrects nothing while sinks, ingest, Redis and the database are killed and restarted (${restarts})`, async () => {
      await runShortChaos(faultKindsFor(kind), { database: kind, duration: 20, drainTimeoutMs: 120_000 });
    }, 420_000);
  });
}

/**
 * A short chaos run on a local Redis Cluster (3 masters, 3 replicas) with collections of 8 partitions: a graceful
 * failover, a master's SIGKILL (its replica takes over, it comes back as a replica), a partition's slot and a range
 * of slots moving between masters, and a sink SIGKILL, under load. A master kill may lose writes it had acknowledged
 * and not yet replicated: those are counted per kill, and every other acknowledged write must land, with the
 * database equal to Redis. The full run's report is in docs/testing.md.
 *
 * Real: everything (built apps, 6 redis-server processes in cluster mode, PostgreSQL). Mocked: nothing.
 */
describe('chaos (short run) on a Redis Cluster', () => {
  it('loses nothing in failovers and resharding but what a killed master had not replicated, and counts that', async () => {
    const faults: FaultKind[] = ['cluster-failover', 'master-kill', 'reshard', 'sink-kill'];
    const report = await runShortChaos(faults, { cluster: true, duration: 10, drainTimeoutMs: 60_000 });
    const { lostByFailover } = report.verdict;
    expect(lostByFailover.byFault).toHaveLength(report.faults.injected['master-kill'] ?? 0);
    const acknowledged = report.traffic.acknowledgedDocumentWrites + report.traffic.acknowledgedEvents;
    expect(lostByFailover.documentWrites + lostByFailover.events).toBeLessThan(acknowledged / 100);
  }, 180_000);
});

/**
 * A short chaos run on Redis Sentinel (a master, its replica, 3 Sentinels): the master's SIGKILL under load, the
 * Sentinels promote the replica, ingest and the sinks follow it without a restart, the old master comes back as a
 * replica. Every write asks for `Durability: replicated`: none the answers said was replicated may be lost; those
 * answered `memory` (the wait timed out while the new master had no replica yet) are counted like a master kill's.
 *
 * Real: everything (built apps, 2 redis-server and 3 Sentinels, PostgreSQL). Mocked: nothing.
 */
describe('chaos (short run) on Redis Sentinel', () => {
  it('loses no replicated write when the master is SIGKILLed and the Sentinels promote its replica', async () => {
    const report = await runShortChaos(['sentinel-failover'], {
      sentinel: true,
      durability: 'replicated',
      duration: 10,
      drainTimeoutMs: 60_000,
    });
    expect(report.verdict.lostByFailover.byFault).toHaveLength(report.faults.injected['sentinel-failover'] ?? 0);
    expect(report.traffic.acknowledgedByLevel.replicated).toBeGreaterThan(1000);
  }, 180_000);
});
