/** A result per item of a batch, in order: what the item came to, or the error it failed with alone. */
export type ItemResult<R> = R | Error;

function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

/** What `fn` returns, or the error it throws. */
export function attempt<R>(fn: () => R): ItemResult<R> {
  try {
    return fn();
  } catch (error) {
    return toError(error);
  }
}

/** What `fn` resolves to, or the error it fails with. */
export async function settle<R>(fn: () => Promise<R>): Promise<ItemResult<R>> {
  try {
    return await fn();
  } catch (error) {
    return toError(error);
  }
}

/** Each item with its result; throws when a batch answered for another number of items than it was given. */
export function withResults<T, R>(items: readonly T[], results: readonly R[]): [T, R][] {
  if (results.length !== items.length) {
    throw new Error(`${items.length} items got ${results.length} results`);
  }

  return items.map((item, i) => [item, results[i] as R]);
}

/**
 * The scatter/gather of a batch: items that are errors already keep them; the others are grouped by `keyOf`, each
 * group goes to `run` in the items' order, and every item of a group whose `run` throws gets that error. Per item,
 * in the order given: its result. Groups run concurrently, and each `run` is called in order of the groups' first
 * items before any of them is awaited, so calls `run` sends on one connection go out in that order.
 */
export async function inGroups<T, K, R>(
  items: readonly ItemResult<T>[],
  keyOf: (item: T, indexInBatch: number) => K,
  run: (group: T[], key: K) => Promise<ItemResult<R>[]>,
): Promise<ItemResult<R>[]> {
  const results = new Array<ItemResult<R>>(items.length);
  const groups = new Map<K, { items: T[]; at: number[] }>();
  items.forEach((item, i) => {
    if (item instanceof Error) {
      results[i] = item;

      return;
    }
    const key = keyOf(item, i);
    const group = groups.get(key) ?? { items: [], at: [] };
    groups.set(key, group);
    group.items.push(item);
    group.at.push(i);
  });
  await Promise.all(
    [...groups].map(async ([key, group]) => {
      let groupResults: ItemResult<R>[];
      try {
        groupResults = withResults(group.items, await run(group.items, key)).map(([, result]) => result);
      } catch (error) {
        groupResults = group.items.map(() => toError(error));
      }
      withResults(group.at, groupResults).forEach(([i, result]) => (results[i] = result));
    }),
  );

  return results;
}

/** Prepares every item; an item `prepare` throws for keeps that error, and the others go to `write` together. */
export function prepareThenWrite<T, P, R>(
  items: readonly T[],
  prepare: (item: T) => P,
  write: (prepared: P[]) => Promise<ItemResult<R>[]>,
): Promise<ItemResult<R>[]> {
  return inGroups(
    items.map((item) => attempt(() => prepare(item))),
    () => 'all',
    write,
  );
}

/** The result of a batch of one item, thrown when it is an error. */
export function onlyResult<R>(results: readonly ItemResult<R>[]): R {
  const [result] = results;
  if (result === undefined || results.length !== 1) {
    throw new Error(`a batch of one item got ${results.length} results`);
  }
  if (result instanceof Error) {
    throw result;
  }

  return result;
}
