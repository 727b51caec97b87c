import { type ChangeEntry, ChangeOp } from '@app/contracts';
import type { VersionsAnswer } from './known-versions';
import { MAX_SKIPPED, SKIP_AFTER_DOCUMENTS, SupersededFilter, type VersionsLookup } from './superseded-filter';

const change = (entryId: string, op: ChangeOp, id: string, version: number): ChangeEntry => ({
  entryId,
  op,
  id,
  version,
  doc: op === ChangeOp.DELETE ? '' : '{}',
  ingestedAt: 0,
});

/** A Redis that holds `held` versions at `horizon` in `epoch`, and records each lookup's ids. */
function redisHolding(held: Record<string, number>, horizon = '100-0', epoch = { value: 'e1' }) {
  const lookup = vi.fn<VersionsLookup>((ids) =>
    Promise.resolve<VersionsAnswer>({ epoch: epoch.value, horizon, ids, versions: ids.map((id) => held[id] ?? 0) }),
  );

  return { lookup, held, epoch };
}

describe(SupersededFilter.name, () => {
  it('leaves events alone and asks Redis nothing about them', async () => {
    const redis = redisHolding({});
    const sut = new SupersededFilter(redis.lookup);

    const superseded = await sut.supersededIn([change('1-0', ChangeOp.EVENT, 'e', 1)]);

    expect(superseded.size).toBe(0);
    expect(redis.lookup).not.toHaveBeenCalled();
  });

  it('finds the changes whose document Redis holds at a newer version', async () => {
    const redis = redisHolding({ a: 3, b: 2 });
    const sut = new SupersededFilter(redis.lookup);
    const older = change('1-0', ChangeOp.PUT, 'a', 2);
    const newest = change('2-0', ChangeOp.PUT, 'a', 3);
    const deleted = change('3-0', ChangeOp.DELETE, 'b', 1);
    const gone = change('4-0', ChangeOp.PUT, 'expired', 5); // Redis holds no hash: written as usual

    const superseded = await sut.supersededIn([older, newest, deleted, gone, change('5-0', ChangeOp.EVENT, 'e', 1)]);

    expect([...superseded]).toEqual([older, deleted]);
    expect(redis.lookup).toHaveBeenCalledWith(['a', 'a', 'b', 'expired']);
  });

  it('settles a later batch from the answers remembered, asking only about the rest (and still for the epoch)', async () => {
    const redis = redisHolding({ a: 3 });
    const sut = new SupersededFilter(redis.lookup);
    await sut.supersededIn([change('1-0', ChangeOp.PUT, 'a', 3)]);
    const older = change('50-0', ChangeOp.PUT, 'a', 1);

    const superseded = await sut.supersededIn([older, change('51-0', ChangeOp.PUT, 'a', 3)]);

    expect([...superseded]).toEqual([older]);
    expect(redis.lookup).toHaveBeenLastCalledWith([]);
  });

  it('asks again about everything when Redis lost its data since the answers remembered', async () => {
    const redis = redisHolding({ a: 3 });
    const onDataLost = vi.fn();
    const sut = new SupersededFilter(redis.lookup, onDataLost);
    await sut.supersededIn([change('1-0', ChangeOp.PUT, 'a', 3)]);
    expect(onDataLost).not.toHaveBeenCalled();
    redis.epoch.value = 'e2';
    delete redis.held.a;

    const superseded = await sut.supersededIn([change('50-0', ChangeOp.PUT, 'a', 1)]);

    expect(superseded.size).toBe(0);
    expect(redis.lookup).toHaveBeenLastCalledWith(['a']);
    expect(onDataLost).toHaveBeenCalledTimes(1);
  });

  it('asks again after forgetting, as when the connection is made again', async () => {
    const redis = redisHolding({ a: 3 });
    const sut = new SupersededFilter(redis.lookup);
    await sut.supersededIn([change('1-0', ChangeOp.PUT, 'a', 3)]);

    sut.forget();
    await sut.supersededIn([change('50-0', ChangeOp.PUT, 'a', 1)]);

    expect(redis.lookup).toHaveBeenLastCalledWith(['a']);
  });

  describe('where lookups find nothing superseded (every entry a new document)', () => {
    let entryMs = 1000;
    const newDocuments = (count = SKIP_AFTER_DOCUMENTS) =>
      Array.from({ length: count }, () => {
        entryMs += 1;

        return change(`${entryMs}-0`, ChangeOp.PUT, `new-${entryMs}`, 1);
      });

    it('skips the lookup for the next batch, then 2, 4, up to MAX_SKIPPED batches; those are written whole', async () => {
      const redis = redisHolding({ a: 3 });
      const sut = new SupersededFilter(redis.lookup);
      const looked: boolean[] = [];
      let skippedOlder: Set<ChangeEntry> | undefined;
      for (let batch = 0; batch < 19; batch++) {
        const before = redis.lookup.mock.calls.length;
        if (batch === 1) {
          // Skipped: the older put of a, which Redis holds newer, goes to the database's version guard.
          skippedOlder = await sut.supersededIn([
            ...newDocuments(),
            change(`${(entryMs += 1)}-0`, ChangeOp.PUT, 'a', 1),
          ]);
        } else {
          await sut.supersededIn(newDocuments());
        }
        looked.push(redis.lookup.mock.calls.length > before);
      }

      expect(skippedOlder?.size).toBe(0);
      expect(looked).toEqual([
        ...[true, false],
        ...[true, false, false],
        ...[true, false, false, false, false],
        ...[true, ...Array<boolean>(MAX_SKIPPED).fill(false)],
        true,
      ]);
    });

    it('looks up every batch again once a lookup finds a change superseded', async () => {
      const redis = redisHolding({});
      const sut = new SupersededFilter(redis.lookup);
      await sut.supersededIn(newDocuments()); // the next batch skips
      await sut.supersededIn(newDocuments());
      redis.held.b = 9;
      const older = change(`${(entryMs += 1)}-0`, ChangeOp.PUT, 'b', 1);

      const superseded = await sut.supersededIn([...newDocuments(), older]);
      await sut.supersededIn(newDocuments(5));
      await sut.supersededIn(newDocuments(5));

      expect([...superseded]).toEqual([older]);
      expect(redis.lookup).toHaveBeenCalledTimes(4);
    });

    it('never skips after small batches, nor after forgetting', async () => {
      const redis = redisHolding({});
      const sut = new SupersededFilter(redis.lookup);
      await sut.supersededIn(newDocuments(SKIP_AFTER_DOCUMENTS - 1));
      await sut.supersededIn(newDocuments(SKIP_AFTER_DOCUMENTS - 1));
      await sut.supersededIn(newDocuments());
      sut.forget();
      await sut.supersededIn(newDocuments());

      expect(redis.lookup).toHaveBeenCalledTimes(4);
    });
  });
});
