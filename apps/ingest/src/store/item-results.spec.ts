import { inGroups, type ItemResult, onlyResult, prepareThenWrite, withResults } from './item-results';

describe(inGroups.name, () => {
  const sut = inGroups;

  it('runs each group once, with its items in order, and puts the results back in the order given', async () => {
    const run = vi.fn((group: string[], key: string) => Promise.resolve(group.map((item) => `${key}:${item}`)));

    const results = await sut(['a1', 'b1', 'a2', 'c1', 'b2'], (item) => item.slice(0, 1), run);

    expect(results).toEqual(['a:a1', 'b:b1', 'a:a2', 'c:c1', 'b:b2']);
    expect(run.mock.calls).toEqual([
      [['a1', 'a2'], 'a'],
      [['b1', 'b2'], 'b'],
      [['c1'], 'c'],
    ]);
  });

  it('keeps the error of an item that already failed, and never runs it', async () => {
    const refused = new Error('refused');
    const run = vi.fn((group: number[]) => Promise.resolve(group.map((n) => n * 10)));

    const results = await sut([1, refused, 3], () => 'all', run);

    expect(results).toEqual([10, refused, 30]);
    expect(run).toHaveBeenCalledWith([1, 3], 'all');
  });

  it('gives every item of a group that throws its error, and the other groups their results', async () => {
    const down = new Error('down');
    const run = (group: string[], key: string) => (key === 'x' ? Promise.reject(down) : Promise.resolve(group));

    expect(await sut(['x1', 'y1', 'x2'], (item) => item.slice(0, 1), run)).toEqual([down, 'y1', down]);
  });

  it('passes the index in the batch, so groups can be chunks', async () => {
    const results = await sut(
      ['a', 'b', 'c', 'd', 'e'],
      (_, i) => Math.floor(i / 2),
      (group, chunk) => Promise.resolve(group.map(() => chunk)),
    );

    expect(results).toEqual([0, 0, 1, 1, 2]);
  });

  it("calls every run before awaiting any, in order of the groups' first items", async () => {
    const sent: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const run = async (group: string[], key: string) => {
      sent.push(key);
      await gate;

      return group;
    };

    const pending = sut(['b', 'a', 'b', 'c'], (item) => item, run);
    expect(sent).toEqual(['b', 'a', 'c']);
    release();

    expect(await pending).toEqual(['b', 'a', 'b', 'c']);
  });

  it('fails a group whose run answers for another number of items', async () => {
    const results = await sut(
      [1, 2],
      () => 'all',
      () => Promise.resolve([1]),
    );

    expect(results).toEqual([expect.any(Error), expect.any(Error)]);
    expect((results[0] as Error).message).toMatch(/2 items got 1 results/);
  });

  it('answers an empty batch without running anything', async () => {
    const run = vi.fn();

    expect(await sut([], () => 'all', run)).toEqual([]);
    expect(run).not.toHaveBeenCalled();
  });
});

describe(prepareThenWrite.name, () => {
  const sut = prepareThenWrite;

  it('writes what could be prepared together, and keeps the error of what could not', async () => {
    const write = vi.fn((prepared: number[]) => Promise.resolve(prepared.map((n): ItemResult<string> => `#${n}`)));

    const results = await sut(
      ['1', 'x', '3'],
      (text) => {
        const n = Number(text);
        if (Number.isNaN(n)) throw new Error(`not a number: ${text}`);

        return n;
      },
      write,
    );

    expect(results).toEqual(['#1', new Error('not a number: x'), '#3']);
    expect(write).toHaveBeenCalledTimes(1);
    expect(write).toHaveBeenCalledWith([1, 3], 'all');
  });
});

describe(withResults.name, () => {
  it('pairs each item with its result, and refuses results of another length', () => {
    expect(withResults(['a', 'b'], [1, 2])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(() => withResults(['a', 'b'], [1])).toThrow(/2 items got 1 results/);
  });
});

describe(onlyResult.name, () => {
  it('returns the result of a batch of one, and throws its error', () => {
    const error = new Error('refused');

    expect(onlyResult([7])).toBe(7);
    expect(() => onlyResult([error])).toThrow(error);
    expect(() => onlyResult([])).toThrow(/0 results/);
  });
});
