import { Registry } from 'prom-client';
import { type ChangeEntry, ChangeOp } from '@app/contracts';
import { SpillwayMetrics } from '@app/metrics';
import { recordBatch } from './batch-metrics';

const change = (entryId: string): ChangeEntry => ({
  entryId,
  op: ChangeOp.PUT,
  id: `doc-${entryId}`,
  version: 1,
  doc: '{}',
  ingestedAt: Date.now(),
});

describe(recordBatch.name, () => {
  it('counts each entry under one outcome, filtered ones included', async () => {
    const sut = new SpillwayMetrics(new Registry());
    const changes = ['1-0', '2-0', '3-0', '4-0', '5-0', '6-0'].map(change);

    recordBatch(
      sut,
      { collection: 'sessions', connection: 'analytics' },
      {
        changes,
        written: {
          kind: 'written',
          counts: { inserted: 1, updated: 1, deleted: 0, stale: 1, filtered: 1 },
          rejected: [{ entry: changes[5] as ChangeEntry, reason: 'rejected by the output mapping: x' }],
        },
        superseded: 1,
        deadLettered: 1,
      },
    );

    const { values } = await sut.sinkEntries.get();
    expect(new Set(values.map((v) => v.labels.connection))).toEqual(new Set(['analytics']));
    const byOutcome = values.map((v) => [v.labels.outcome, v.value]);
    expect(Object.fromEntries(byOutcome)).toEqual({
      inserted: 1,
      updated: 1,
      deleted: 0,
      filtered: 1,
      stale: 2,
      rejected: 1,
    });
  });
});
