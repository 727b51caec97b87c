// A set of versions as sorted, disjoint ranges: the versions a client saw acknowledged for one document are nearly
// contiguous, so a long run keeps a few ranges per document rather than every version.

/** Versions (positive integers) as sorted, disjoint, non-adjacent inclusive ranges. */
export class VersionRanges {
  private readonly ranges: [number, number][] = [];

  /** Adds `version`; false when it was already there. */
  add(version: number): boolean {
    const ranges = this.ranges;
    // the first range that ends at version - 1 or later: the one version joins or falls in, or the one after it
    let low = 0;
    let high = ranges.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((ranges[middle] as [number, number])[1] < version - 1) low = middle + 1;
      else high = middle;
    }
    const range = ranges[low];
    if (range && range[0] <= version && version <= range[1]) return false;
    if (!range || range[0] > version + 1) {
      ranges.splice(low, 0, [version, version]);
    } else if (range[0] === version + 1) {
      range[0] = version;
    } else {
      range[1] = version; // it ended at version - 1
      const next = ranges[low + 1];
      if (next && next[0] === version + 1) {
        range[1] = next[1];
        ranges.splice(low + 1, 1);
      }
    }

    return true;
  }

  has(version: number): boolean {
    return this.ranges.some(([start, end]) => start <= version && version <= end);
  }

  /** How many versions greater than `version` the set holds. */
  countAbove(version: number): number {
    return this.ranges.reduce((n, [start, end]) => n + Math.max(0, end - Math.max(start, version + 1) + 1), 0);
  }

  get size(): number {
    return this.countAbove(0);
  }
}
