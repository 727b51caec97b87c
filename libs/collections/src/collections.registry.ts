import type { Collection } from './collection';

/** The collections this process serves, by name. */
export class CollectionRegistry {
  private readonly byName: ReadonlyMap<string, Collection>;

  constructor(collections: readonly Collection[]) {
    this.byName = new Map(collections.map((c) => [c.name, c]));
  }

  find(name: string): Collection | undefined {
    return this.byName.get(name);
  }

  all(): Collection[] {
    return [...this.byName.values()];
  }
}
