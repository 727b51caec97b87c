// The fuzzer's requests: about half valid traffic (valid-cases.ts), recorded in the ledger, and half hostile
// requests (hostile-cases.ts), all drawn from one seeded PRNG so that a seed replays a run's mix.
import { mulberry32 } from '../shared/random';
import { CaseContext, type FuzzCase } from './case-context';
import { createHostileCases } from './hostile-cases';
import type { Ledger } from './ledger';
import { createValidCases } from './valid-cases';

export interface CaseSource {
  /** The next case: about half valid traffic, half hostile. */
  next(): FuzzCase;
  /** the hostile categories */
  hostileKinds: string[];
  /** a fresh hostile id */
  hx: () => string;
}

/**
 * A seeded source of cases. Valid cases hold locks on their ids (the runner releases them once answered), so
 * writes to one id never overlap and the ledger can follow them exactly.
 */
export function createCaseSource({ seed, ids, ledger }: { seed: number; ids: number; ledger: Ledger }): CaseSource {
  const ctx = new CaseContext(mulberry32(seed), seed, ids, ledger);
  const valid = createValidCases(ctx);
  const hostile = createHostileCases(ctx);

  return {
    next() {
      const roll = ctx.rng();
      const validCase =
        roll < 0.3
          ? valid.document()
          : roll < 0.38
            ? valid.event()
            : roll < 0.45
              ? valid.bulk()
              : roll < 0.5
                ? valid.bulkEvents()
                : undefined;

      return validCase ?? hostile.next();
    },
    hostileKinds: hostile.kinds,
    hx: () => ctx.hx(),
  };
}
