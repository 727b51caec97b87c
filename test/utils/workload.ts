import { mulberry32 } from '../../tools/shared/random';
import type { PipelineFixture } from './pipeline-fixture';

export interface WorkloadResult {
  accepted: number;
  refused: number;
  eventIds: Set<string>;
}

/**
 * Mixed puts / patches / deletes (60/30/10) over `ids` documents, plus events, sent by `concurrency`
 * clients at once. Only 202 answers count as acknowledged.
 */
export async function runWorkload(
  fx: PipelineFixture,
  options: {
    ops: number;
    ids: number;
    events: number;
    seed: number;
    concurrency?: number;
    prefix?: string;
    /** Count 503 answers as refused (a PostgreSQL outage: ids Redis does not hold need their version floor). */
    tolerateUnavailable?: boolean;
  },
): Promise<WorkloadResult> {
  const random = mulberry32(options.seed); // seeded, so a failing run can be replayed
  const prefix = options.prefix ?? 'doc';
  const result: WorkloadResult = { accepted: 0, refused: 0, eventIds: new Set() };
  const jobs: (() => Promise<void>)[] = [];
  for (let i = 0; i < options.ops; i++) {
    const id = `${prefix}-${Math.floor(random() * options.ids)}`;
    const roll = random();
    const amount = Math.round(random() * 100_000) / 100;
    const [method, body] =
      roll < 0.6
        ? (['PUT', { owner: `u${i % 17}`, amount, step: i }] as const)
        : roll < 0.9
          ? (['PATCH', { amount, step: i, extra: roll < 0.75 ? null : { n: i } }] as const)
          : (['DELETE', undefined] as const);
    jobs.push(async () => {
      const reply = await fx.request(method, `/v1/${fx.docs}/${id}`, body);
      if (reply.status === 202) {
        result.accepted++;
      } else if (reply.status === 404 || (reply.status === 503 && options.tolerateUnavailable)) {
        result.refused++; // a patch or delete of a document that is not live, or a documented 503
      } else {
        throw new Error(`${method} ${id}: ${reply.status} ${JSON.stringify(reply.body)}`);
      }
    });
  }
  for (let i = 0; i < options.events; i++) {
    const id = `${prefix}-evt-${i}`;
    jobs.push(async () => {
      const reply = await fx.request('POST', `/v1/${fx.events}`, { id, kind: 'click', n: i });
      if (reply.status !== 202) {
        throw new Error(`POST event ${id}: ${reply.status}`);
      }
      result.eventIds.add(id);
    });
  }
  // Interleave events with document writes instead of sending them last.
  jobs.sort(() => random() - 0.5);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      await job?.();
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 16 }, worker));

  return result;
}
