import { ChangeOp, type ChangeEntry } from '@app/contracts';
import { KnownVersions, type VersionsAnswer } from './known-versions';

const put = (entryId: string, id: string, version: number): ChangeEntry => ({
  entryId,
  op: ChangeOp.PUT,
  id,
  version,
  doc: '{}',
  ingestedAt: 0,
});

const answer = (horizon: string, versions: Record<string, number>, epoch = 'e1'): VersionsAnswer => ({
  epoch,
  horizon,
  ids: Object.keys(versions),
  versions: Object.values(versions),
});

describe(KnownVersions.name, () => {
  it('settles the changes appended before the answer, and nothing else', () => {
    const known = new KnownVersions(10);
    expect(known.learn(answer('100-5', { a: 7, gone: 0 }))).toBe(true);

    expect(known.verdict(put('90-0', 'a', 6))).toBe('superseded');
    expect(known.verdict(put('100-5', 'a', 3))).toBe('superseded');
    expect(known.verdict(put('95-0', 'a', 7))).toBe('newest'); // the version Redis held: written
    expect(known.verdict(put('95-1', 'a', 8))).toBeUndefined(); // newer than the answer
    expect(known.verdict(put('100-6', 'a', 2))).toBeUndefined(); // appended after the answer: a version started over
    expect(known.verdict(put('90-1', 'gone', 1))).toBeUndefined(); // Redis held no hash: nothing is known
    expect(known.verdict(put('90-2', 'other', 1))).toBeUndefined();
  });

  it('takes a newer answer over an older one for the same id', () => {
    const known = new KnownVersions(10);
    known.learn(answer('100-0', { a: 9 }));
    known.learn(answer('200-0', { a: 2 })); // deleted, its tombstones gone, created again

    expect(known.verdict(put('150-0', 'a', 1))).toBe('superseded');
    expect(known.verdict(put('150-0', 'a', 5))).toBeUndefined();
  });

  it('forgets every answer when the epoch changes (Redis lost its data), and says so', () => {
    const known = new KnownVersions(10);
    known.learn(answer('100-0', { a: 9, b: 4 }));

    expect(known.learn(answer('100-0', { c: 3 }, 'e2'))).toBe(false);
    expect(known.verdict(put('50-0', 'a', 1))).toBeUndefined();
    expect(known.verdict(put('50-0', 'c', 1))).toBe('superseded'); // learned from the new epoch's answer
    expect(known.learn(answer('100-0', { d: 3 }, 'e2'))).toBe(true);
  });

  it('forgets on request, as when the connection is made again', () => {
    const known = new KnownVersions(10);
    known.learn(answer('100-0', { a: 9 }));
    known.forget();

    expect(known.verdict(put('50-0', 'a', 1))).toBeUndefined();
  });

  it('keeps at most its capacity, forgetting the ids first learned longest ago', () => {
    const known = new KnownVersions(2);
    known.learn(answer('100-0', { a: 5, b: 5 }));
    known.learn(answer('100-0', { b: 6 }));
    known.learn(answer('100-0', { c: 5 }));

    expect(known.size).toBe(2);
    expect(known.verdict(put('50-0', 'a', 1))).toBeUndefined();
    expect(known.verdict(put('50-0', 'b', 5))).toBe('superseded');
    expect(known.verdict(put('50-0', 'c', 1))).toBe('superseded');
  });
});
