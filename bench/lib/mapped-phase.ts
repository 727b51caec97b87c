// Phase 6: the mapped drain. Phase 3's uniform drain (the same ids, seed and mix of puts, patches and deletes) on a
// collection with the outputs of config/collections/sessions.yaml (session_facts, and a session_screens row for each
// element of `screens`), whose documents carry 3 to 7 screens each; the rows of each of its tables are counted. Beside
// it, the control: the same backlog of the same documents drained into the plain collection, in turns with the mapped
// drain (control first in odd rounds, mapped first in even ones), so that what the two differ in is the outputs alone
// and a machine whose speed drifts favours neither. The target holds the mapped drain's entries a second against it.
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
  PLAIN,
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
  /** the control: the same backlog into the plain collection, in turns with the mapped drain */
  control: { runs: SinkRun[]; drains: DrainMean[] };
}

/** The mean size of the documents as the stream carries them, with their "id". */
const meanLength = (docs: string[], id: string): number =>
  round(docs.reduce((n, d) => n + withId(id, d).length, 0) / docs.length) ?? 0;

/** A backlog and its warm-ups, ready to be drained into `target`. */
interface Backlog {
  target: DrainTarget;
  template: Template;
  warmUps: Template[];
}

/** The mapped backlog and the control drained `rounds` times each, in turns, by `replicas` sinks. */
export async function mappedPhase(o: MappedPhaseOptions): Promise<MappedResult> {
  const redis = o.stack.redisClient;
  const docs = withScreens(seededRandom(o.seed + 29), o.docs);
  const screens = docs.reduce((n, d) => n + (JSON.parse(d) as { screens: unknown[] }).screens.length, 0);
  // The same ids, documents, seed and mix in both: warm-ups sized on the plain drain's backlog, as phase 3's.
  const backlogOf = async (name: string, target: DrainTarget): Promise<Backlog> => {
    await seedDocuments(redis, o.ids, docs, target.keys);
    await redis.del(target.keys.stream);
    const template = await buildTemplate(redis, { name, entries: o.entries, ids: o.ids, docs, seed: o.seed, target });
    o.say(
      `backlog '${name}': ${template.entries} entries written in ${template.fillMs} ms (${template.fillRatePerSec}/s)`,
    );
    const warmUps = await buildWarmUps(redis, {
      entries: o.plainEntries,
      ids: o.ids,
      docs,
      seed: o.seed,
      say: o.say,
      count: o.replicas,
      target,
      namePrefix: `${name}-`,
    });

    return { target, template, warmUps };
  };
  const mapped = await backlogOf('mapped', mappedTarget(o.outputTables));
  const control = await backlogOf('mapped-control', PLAIN);
  const runs: SinkRun[] = [];
  const controlRuns: SinkRun[] = [];
  const drain = async (backlog: Backlog, round: number): Promise<SinkRun> => {
    const run = await drainRun({
      stack: o.stack,
      database: o.database,
      replicas: o.replicas,
      template: backlog.template.name,
      entries: backlog.template.entries,
      warmUps: backlog.warmUps,
      timeoutMs: o.timeoutMs,
      say: o.say,
      target: backlog.target,
    });
    o.say(
      `${backlog.template.name} drain rows: ${run.tables.map((t) => `${t.table} ${t.written} written, ${t.rows} held`).join('; ')}`,
    );

    return { round, ...run };
  };
  try {
    for (let r = 1; r <= o.rounds; r++) {
      if (r % 2 === 1) controlRuns.push(await drain(control, r));
      runs.push(await drain(mapped, r));
      if (r % 2 === 0) controlRuns.push(await drain(control, r));
    }
  } finally {
    await dropTemplates(redis, mapped.target.keys, [mapped.template, ...mapped.warmUps]);
    await dropTemplates(redis, control.target.keys, [control.template, ...control.warmUps]);
  }

  return {
    collection: MAPPED_COLLECTION,
    tables: mapped.target.tables,
    replicas: o.replicas,
    rounds: o.rounds,
    documentBytes: { plain: meanLength(o.docs, o.ids[0] ?? ''), mapped: meanLength(docs, o.ids[0] ?? '') },
    screensPerDocument: round(screens / docs.length, 2) ?? 0,
    templates: [mapped.template, ...mapped.warmUps, control.template, ...control.warmUps],
    runs,
    drains: meanOfRounds(runs),
    control: { runs: controlRuns, drains: meanOfRounds(controlRuns) },
  };
}
