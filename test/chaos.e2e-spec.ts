import { FAULT_KINDS } from '../tools/chaos/faults';
import { formatChaosReport } from '../tools/chaos/report';
import { runChaos } from '../tools/chaos/runner';

/**
 * A short chaos run (npm run chaos, bounded: 20 s of load, longer until each fault kind has struck): its own Redis
 * (AOF, appendfsync always), PostgreSQL, ingest and three sink processes under seeded traffic while every kind of
 * fault strikes at least once; then the tables must hold exactly what was acknowledged. The full run's report is in
 * docs/testing.md.
 *
 * Real: everything (built apps, Redis, PostgreSQL). Mocked: nothing.
 */
describe('chaos (short run)', () => {
  it('loses, duplicates and resurrects nothing while sinks, ingest, Redis and PostgreSQL are killed and restarted', async () => {
    const seed = Number(process.env.SPILLWAY_CHAOS_SEED ?? 7);
    const report = await runChaos({
      seed,
      duration: 20,
      replicas: 3,
      clients: 16,
      ids: 500,
      faults: FAULT_KINDS,
      finishFaultRound: true,
      poison: 2,
      claimIdleMs: 2000,
      drainTimeoutMs: 120_000,
    });
    console.log(formatChaosReport(report));

    expect(Object.keys(report.faults.injected).sort()).toEqual([...FAULT_KINDS].sort());
    expect(report.traffic.acknowledgedDocumentWrites).toBeGreaterThan(1000);
    expect(report.verdict.examples).toEqual([]);
    expect(report.verdict.mismatches).toBe(0);
    expect(report.verdict.deadLetters).toHaveLength(2);
    expect(report.failures).toEqual([]);
  }, 420_000);
});
