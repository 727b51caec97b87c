import { ChangeOp, type ChangeEntry } from '@app/contracts';
import { coalesce } from './coalesce';

const entry = (entryId: string, op: ChangeOp, id: string, version: number): ChangeEntry => ({
  entryId,
  op,
  id,
  version,
  doc: op === ChangeOp.DELETE ? '' : `{"v":${version}}`,
  ingestedAt: 0,
});

describe(coalesce.name, () => {
  it('keeps only the highest version of each document, whatever the order', () => {
    const sut = coalesce([
      entry('1-0', ChangeOp.PUT, 'a', 1),
      entry('2-0', ChangeOp.PUT, 'a', 3),
      entry('3-0', ChangeOp.PUT, 'a', 2),
      entry('4-0', ChangeOp.PUT, 'b', 1),
    ]);

    expect(sut.puts.map((e) => [e.id, e.version])).toEqual([
      ['a', 3],
      ['b', 1],
    ]);
    expect(sut.superseded.map((e) => e.entryId).sort()).toEqual(['1-0', '3-0']);
  });

  it('lets a later delete win over earlier puts, and a re-create win over the delete', () => {
    const deleted = coalesce([entry('1-0', ChangeOp.PUT, 'a', 1), entry('2-0', ChangeOp.DELETE, 'a', 2)]);
    const recreated = coalesce([entry('2-0', ChangeOp.DELETE, 'a', 2), entry('3-0', ChangeOp.PUT, 'a', 3)]);

    expect(deleted.deletes.map((e) => e.version)).toEqual([2]);
    expect(deleted.puts).toEqual([]);
    expect(recreated.puts.map((e) => e.version)).toEqual([3]);
    expect(recreated.deletes).toEqual([]);
  });

  it('keeps the first copy of an event id and counts the rest as superseded', () => {
    const sut = coalesce([entry('1-0', ChangeOp.EVENT, 'e', 1), entry('2-0', ChangeOp.EVENT, 'e', 1)]);

    expect(sut.events.map((e) => e.entryId)).toEqual(['1-0']);
    expect(sut.superseded.map((e) => e.entryId)).toEqual(['2-0']);
  });
});
