// Phase 6: the mapped drain. Phase 3's uniform drain (the same ids, seed and mix of puts, patches and deletes) on a
// collection with the outputs of config/collections/sessions.yaml (session_facts, and a session_screens row for each
// element of `screens`), whose documents carry 3 to 7 screens each. Its entries a second are held against the plain
// drain's at the same replica count, and the rows of each of its tables are counted.
import { partitionKeys } from '@app/contracts';
import type { StackPhaseInputs } from './phase';
import { seedDocuments } from './redis-writes';
import {
  buildTemplate,
  buildWarmUps,
  type DrainMean,
  type DrainTarget,
  drainRun,
  dropTemplates,
  meanOfRounds,
  type SinkRun,
  type Template,
} from './sink-phase';
import { round } from './stats';
import { seededRandom, withId, withScreens } from './workload';

/** The mapped collection: the shipped `sessions` file's schema, transform and outputs, with a state table of its own. */
export const MAPPED_COLLECTION = 'sessions_mapped';

/** The mapped collection's tables: its state table, then the output tables the shipped file names. */
export const mappedTarget = (outputTables: string[]): DrainTarget => ({
  keys: partitionKeys(MAPPED_COLLECTION),
  tables: [MAPPED_COLLECTION, ...outputTables],
});

export interface MappedPhaseOptions extends StackPhaseInputs {
  /** the mapped backlog */
  entries: number;
  /** the plain drain's backlog: the warm-ups are sized on it, as phase 3's, whatever the mapped backlog */
  plainEntries: number;
  replicas: number;
  rounds: number;
  timeoutMs: number;
  outputTables: string[];
}

export interface MappedResult {
  collection: string;
  tables: string[];
  replicas: number;
  rounds: number;
  /** mean JSON size of a document (with its "id"), plain and with its screens */
  documentBytes: { plain: number; mapped: number };
  screensPerDocument: number;
  templates: Template[];
  runs: SinkRun[];
  drains: DrainMean[];
}

/** The mean size of the documents as the stream carries them, with their "id". */
const meanLength = (docs: string[], id: string): number =>
  round(docs.reduce((n, d) => n + withId(id, d).length, 0) / docs.length) ?? 0;

/** The mapped backlog drained `rounds` times by `replicas` sinks, warmed up as phase 3's on mapped backlogs. */
export async function mappedPhase(o: MappedPhaseOptions): Promise<MappedResult> {
  const redis = o.stack.redisClient;
  const target = mappedTarget(o.outputTables);
  const docs = withScreens(seededRandom(o.seed + 29), o.docs);
  const screens = docs.reduce((n, d) => n + (JSON.parse(d) as { screens: unknown[] }).screens.length, 0);
  await seedDocuments(redis, o.ids, docs, target.keys);
  await redis.del(target.keys.stream);
  const mapped = await buildTemplate(redis, {
    name: 'mapped',
    entries: o.entries,
    ids: o.ids,
    docs,
    seed: o.seed,
    target,
  });
  o.say(`backlog 'mapped': ${mapped.entries} entries written in ${mapped.fillMs} ms (${mapped.fillRatePerSec}/s)`);
  const warmUps = await buildWarmUps(redis, {
    entries: o.plainEntries,
    ids: o.ids,
    docs,
    seed: o.seed,
    say: o.say,
    count: o.replicas,
    target,
    namePrefix: 'mapped-',
  });
  const templates = [mapped, ...warmUps];
  const runs: SinkRun[] = [];
  try {
    for (let r = 1; r <= o.rounds; r++) {
      const run = await drainRun({
        stack: o.stack,
        database: o.database,
        replicas: o.replicas,
        template: mapped.name,
        entries: mapped.entries,
        warmUps,
        timeoutMs: o.timeoutMs,
        say: o.say,
        target,
      });
      o.say(
        `mapped drain rows: ${run.tables.map((t) => `${t.table} ${t.written} written, ${t.rows} held`).join('; ')}`,
      );
      runs.push({ round: r, ...run });
    }
  } finally {
    await dropTemplates(redis, target.keys, templates);
  }

  return {
    collection: MAPPED_COLLECTION,
    tables: target.tables,
    replicas: o.replicas,
    rounds: o.rounds,
    documentBytes: { plain: meanLength(o.docs, o.ids[0] ?? ''), mapped: meanLength(docs, o.ids[0] ?? '') },
    screensPerDocument: round(screens / docs.length, 2) ?? 0,
    templates,
    runs,
    drains: meanOfRounds(runs),
  };
}
