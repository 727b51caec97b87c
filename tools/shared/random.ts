/**
 * mulberry32: tiny, fast, good enough for traffic shapes. The same seed gives the same sequence, so a run can be
 * replayed from its printed seed.
 * @returns a function that returns floats in [0, 1)
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;

  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;

    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
