import { type ChangeEntry, ChangeOp } from '@app/contracts';
import {
  changesToWrite,
  gathersMore,
  MAX_GATHERED_READS,
  mergeBatches,
  waitsForMore,
  withoutSupersededContent,
} from './batch-gathering';
import type { SortedBatch } from './batch-sorting';

const BATCH_SIZE = 10;

/** A read of `entries` entries, the first `superseded` of them superseded, its entry ids starting at `from`. */
function read(entries: number, superseded: number, from = 1): SortedBatch {
  const changes: ChangeEntry[] = Array.from({ length: entries }, (_, i) => ({
    entryId: `${from + i}-0`,
    op: ChangeOp.PUT,
    id: `doc-${from + i}`,
    version: 1,
    doc: '{}',
    ingestedAt: 0,
  }));

  return {
    raw: changes.map((c) => ({ id: c.entryId, fields: ['d', c.doc], deliveries: 1 })),
    changes,
    superseded: new Set(changes.slice(0, superseded)),
    letters: [],
    settledIds: [],
  };
}

describe('batch gathering', () => {
  it('counts the changes to write: those not superseded', () => {
    expect(changesToWrite(read(10, 7))).toBe(3);
  });

  it('gathers another read while reads come back full and the next, as big as the last, keeps the write in size', () => {
    const last = read(BATCH_SIZE, 8);

    expect(gathersMore(8, last, 3, BATCH_SIZE)).toBe(true); // 8 + 2 changes
    expect(gathersMore(9, last, 3, BATCH_SIZE)).toBe(false); // 9 + 2 would pass 10
  });

  it('writes a read that came back short at once: the backlog is no deeper than it', () => {
    const short = read(BATCH_SIZE - 1, BATCH_SIZE - 1);

    expect(gathersMore(0, short, 1, BATCH_SIZE)).toBe(false);
  });

  it('writes read by read where every entry is a change to write', () => {
    const full = read(BATCH_SIZE, 0);

    expect(gathersMore(BATCH_SIZE, full, 1, BATCH_SIZE)).toBe(false);
  });

  it(`gathers at most ${MAX_GATHERED_READS} reads`, () => {
    const empty = read(BATCH_SIZE, BATCH_SIZE);

    expect(gathersMore(0, empty, MAX_GATHERED_READS - 1, BATCH_SIZE)).toBe(true);
    expect(gathersMore(0, empty, MAX_GATHERED_READS, BATCH_SIZE)).toBe(false);
  });

  it('has a partial read of a busy stream wait for more, not a full read nor one of a quiet stream', () => {
    const batchSize = 500;

    expect(waitsForMore(read(62, 0), batchSize)).toBe(false); // under an eighth: a quiet stream, its lag counts
    expect(waitsForMore(read(63, 0), batchSize)).toBe(true);
    expect(waitsForMore(read(499, 0), batchSize)).toBe(true);
    expect(waitsForMore(read(500, 0), batchSize)).toBe(false); // full: more is already waiting
  });

  it('merges reads in their order, keeping what each had to write, ack and dead-letter', () => {
    const first = read(3, 1, 1);
    const second = read(2, 1, 4);
    first.settledIds.push('0-1');
    second.letters.push({ entry: { id: '9-0', fields: null, deliveries: 6 }, reason: 'delivered 6 times' });

    const merged = mergeBatches([first, second]);

    expect(merged.raw.map((e) => e.id)).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0']);
    expect(merged.changes.map((c) => c.entryId)).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0']);
    expect([...merged.superseded].map((c) => c.entryId)).toEqual(['1-0', '4-0']);
    expect(merged.settledIds).toEqual(['0-1']);
    expect(merged.letters.map((l) => l.entry.id)).toEqual(['9-0']);
    expect(changesToWrite(merged)).toBe(3);
  });

  it('keeps of a superseded change what its ack and metrics need, not its document', () => {
    const batch = read(3, 2);

    const slim = withoutSupersededContent(batch);

    expect(slim.changes.map((c) => [c.entryId, c.doc])).toEqual([
      ['1-0', ''],
      ['2-0', ''],
      ['3-0', '{}'],
    ]);
    expect([...slim.superseded].map((c) => c.entryId)).toEqual(['1-0', '2-0']);
    expect(slim.raw.map((e) => [e.id, e.fields])).toEqual([
      ['1-0', []],
      ['2-0', []],
      ['3-0', ['d', '{}']],
    ]);
    expect(changesToWrite(slim)).toBe(1);
    expect(batch.changes[0]?.doc).toBe('{}'); // the read itself is left as it was
  });
});
