import { formatFuzzReport } from '../tools/fuzz/report';
import { runFuzz } from '../tools/fuzz/runner';

/**
 * A bounded fuzz run (npm run fuzz): its own Redis, PostgreSQL, ingest and two sink processes (tools/local-stack)
 * under 40 s of seeded hostile requests mixed with valid traffic, plus slow clients that ingest must cut off.
 * The report must pass every check: nothing outside the contract's statuses, no 5xx, no crash, every valid write
 * in PostgreSQL as acknowledged, and no trace of any refused request in Redis or PostgreSQL.
 *
 * Real: everything (built apps, Redis, PostgreSQL). Mocked: nothing.
 */
describe('fuzz (short run)', () => {
  it('answers hostile input within the contract and leaves no trace of it, while valid traffic lands', async () => {
    const seed = Number(process.env.SPILLWAY_FUZZ_SEED ?? 3);
    const report = await runFuzz({ seed, duration: 40, concurrency: 8, replicas: 2, ids: 300, slowClients: 4 });
    console.log(formatFuzzReport(report));

    const hostileKinds = Object.entries(report.categories).filter(([, stats]) => !stats.valid);
    expect(hostileKinds.length).toBeGreaterThanOrEqual(15);
    expect(report.acknowledged.documentWrites).toBeGreaterThan(100);
    expect(report.examples).toEqual([]);
    expect(report.checks.filter((check) => !check.passed)).toEqual([]);
    expect(report.passed).toBe(true);
  }, 300_000);
});
