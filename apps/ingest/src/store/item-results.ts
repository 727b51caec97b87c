/** A result per item of a batch, in order: what the item came to, or the error it failed with alone. */
export type ItemResult<R> = R | Error;

/**
 * Prepares every item; an item `prepare` throws for keeps that error as its result, and the others go to `write`
 * together, in order. Per item, in order: its result or its error.
 */
export async function prepareThenWrite<T, P, R>(
  items: T[],
  prepare: (item: T) => P,
  write: (prepared: P[]) => Promise<ItemResult<R>[]>,
): Promise<ItemResult<R>[]> {
  const results = new Array<ItemResult<R>>(items.length);
  const prepared: P[] = [];
  const at: number[] = [];
  items.forEach((item, i) => {
    try {
      prepared.push(prepare(item));
      at.push(i);
    } catch (error) {
      results[i] = error as Error;
    }
  });
  const written = prepared.length > 0 ? await write(prepared) : [];
  written.forEach((result, k) => (results[at[k]] = result));

  return results;
}

/** The result of a batch of one item, thrown when it is an error. */
export function onlyResult<R>([result]: ItemResult<R>[]): R {
  if (result instanceof Error) {
    throw result;
  }

  return result;
}
