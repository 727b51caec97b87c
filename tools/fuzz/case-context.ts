// What every fuzz case builder shares: the seeded picks, the hostile ids, the valid ids and their ledger.
import type { Answer } from './http';
import type { Ledger } from './ledger';

/** One request of a fuzz run, with the answers the contract allows for it. */
interface CaseBase {
  category: string;
  valid: boolean;
  expect: number[];
  /** a close of the connection without an answer is allowed */
  allowClose?: boolean;
  /** valid ids this request holds; the runner releases them once answered */
  locks?: string[];
  /** after an expected status: what the answer tells the ledger, or a problem with it */
  settle?: (answer: Answer, ledger: Ledger) => string | undefined;
}

/** A well-formed request, sent through the keep-alive pool. */
export interface HttpCase extends CaseBase {
  transport: 'http';
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** Raw bytes on a fresh socket, for what a conforming client cannot send. */
export interface RawCase extends CaseBase {
  transport: 'raw';
  raw: { chunks: (string | Buffer)[]; halfClose?: boolean };
}

export type FuzzCase = HttpCase | RawCase;

export const JSON_TYPE = { 'content-type': 'application/json' };

export const nestedObjects = (levels: number, leaf = '"x"'): string =>
  '{"a":'.repeat(levels) + leaf + '}'.repeat(levels);
export const nestedArrays = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);

/** The seeded picks and ids the case builders share; every pick draws from one PRNG, in the order called. */
export class CaseContext {
  private hostileSeq = 0;

  constructor(
    readonly rng: () => number,
    readonly seed: number,
    private readonly ids: number,
    readonly ledger: Ledger,
  ) {}

  int(n: number): number {
    return Math.floor(this.rng() * n);
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)] as T;
  }

  chance(p: number): boolean {
    return this.rng() < p;
  }

  /** A fresh hostile id: nothing may ever be stored under it. */
  hx(): string {
    this.hostileSeq += 1;

    return `hx-${this.seed}-${this.hostileSeq}`;
  }

  validId(i: number): string {
    return `ok-${String(i).padStart(5, '0')}`;
  }

  /** A free valid id, locked; undefined when none came up free. */
  lockFree(wanted: (id: string) => boolean = () => true): string | undefined {
    for (let tries = 0; tries < 20; tries++) {
      const id = this.validId(this.int(this.ids));
      if (wanted(id) && this.ledger.tryLock(id)) return id;
    }

    return undefined;
  }

  /** A live valid document, not locked: refused requests must leave it as the ledger has it. */
  liveValidId(): string {
    const live = [...this.ledger.docs].filter(([, s]) => s.live);

    return live.length > 0 ? this.pick(live)[0] : this.validId(this.int(this.ids));
  }
}

/** The `{ id, version }` of a 202, or undefined when the answer is not one. */
export function acknowledged(answer: Answer): { id: string; version: number } | undefined {
  try {
    const body = JSON.parse(answer.body) as { id?: unknown; version?: unknown };

    return typeof body.id === 'string' && Number.isInteger(body.version)
      ? { id: body.id, version: Number(body.version) }
      : undefined;
  } catch {
    return undefined;
  }
}

/** One item's result in a _bulk answer. */
export interface BulkItemResult {
  id?: string;
  version?: number;
  error?: { status: number };
}

/**
 * The per-item results of a _bulk answer: the array; undefined when the answer is not a 200 (nothing to settle);
 * or a failure message when a 200 carries no results.
 */
export function bulkResults(answer: Answer): BulkItemResult[] | string | undefined {
  if (answer.status !== 200) return undefined;
  try {
    const { results } = JSON.parse(answer.body) as { results?: unknown };

    return Array.isArray(results) ? (results as BulkItemResult[]) : `200 without results: ${answer.body.slice(0, 120)}`;
  } catch {
    return `200 without results: ${answer.body.slice(0, 120)}`;
  }
}
