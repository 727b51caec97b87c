import type { Stack } from '../../tools/local-stack';
import type { BenchDatabase } from './bench-database';

/** What every phase gets: the ids, the ~300-byte documents, the seed and the progress log. */
export interface PhaseInputs {
  ids: string[];
  docs: string[];
  seed: number;
  say: (line: string) => void;
}

/** What the phases that drive the apps get besides: the running stack, and its database as the bench reads it. */
export interface StackPhaseInputs extends PhaseInputs {
  stack: Stack;
  database: BenchDatabase;
}
