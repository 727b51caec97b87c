import { type ChangeEntry, ChangeOp, encodeEntry } from '@app/contracts';
import { rejectedLetters, sortEntries } from './batch-sorting';
import type { RawEntry } from './stream-replies';

const raw = (id: string, fields: string[] | null, deliveries = 1): RawEntry => ({ id, fields, deliveries });
const put = (id: string, deliveries = 1) => raw(id, encodeEntry(ChangeOp.PUT, `doc-${id}`, 1, 0, '{}'), deliveries);
const change = (entryId: string): ChangeEntry => ({
  entryId,
  op: ChangeOp.PUT,
  id: `doc-${entryId}`,
  version: 1,
  doc: '{}',
  ingestedAt: 0,
});

describe(sortEntries.name, () => {
  it('decodes the entries to write, acks deleted ones, dead-letters the undecodable and the delivered too often', () => {
    const entries = [put('1-0'), raw('2-0', null), raw('3-0', ['junk']), put('4-0', 4), put('5-0', 3)];

    const sut = sortEntries(entries, 3);

    expect(sut.changes.map((c) => c.entryId)).toEqual(['1-0', '5-0']);
    expect(sut.settledIds).toEqual(['2-0']);
    expect(sut.letters.map((l) => [l.entry.id, l.reason])).toEqual([
      ['3-0', expect.stringMatching(/^undecodable entry: /)],
      ['4-0', 'delivered 4 times without being written'],
    ]);
    expect(sut.raw).toBe(entries);
  });
});

describe(rejectedLetters.name, () => {
  it('dead-letters the raw entry of each refused change, with its reason', () => {
    const entries = [put('1-0'), put('2-0', 2)];

    const sut = rejectedLetters(entries, [{ entry: change('2-0'), reason: 'rejected by PostgreSQL: 22P02: bad json' }]);

    expect(sut).toEqual([{ entry: entries[1], reason: 'rejected by PostgreSQL: 22P02: bad json' }]);
  });

  it('refuses a change that is not one of the batch', () => {
    const sut = () => rejectedLetters([put('1-0')], [{ entry: change('9-0'), reason: 'x' }]);

    expect(sut).toThrow(/9-0/);
  });
});
