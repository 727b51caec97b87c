import { decodeCommitNotice, encodeCommitNotice, isDurability } from './durability';

describe(encodeCommitNotice.name, () => {
  it('round-trips the committed versions, and reads anything else as none', () => {
    const committed = [
      { id: 'a', version: 3 },
      { id: 'b:c', version: 1 },
    ];

    expect(decodeCommitNotice(encodeCommitNotice(committed))).toEqual(committed);
    expect(decodeCommitNotice('not json')).toEqual([]);
    expect(decodeCommitNotice('[["a","3"],[1,2],"x"]')).toEqual([]);
  });

  it('knows the four levels', () => {
    expect(['memory', 'replicated', 'aof', 'persisted', 'disk'].map(isDurability)).toEqual([
      true,
      true,
      true,
      true,
      false,
    ]);
  });
});
