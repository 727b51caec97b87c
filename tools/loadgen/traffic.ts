// Simulated mobile-banking traffic: which operation comes next, on which id, with which body.
//
// Everything random comes from a seeded PRNG and the generator's beliefs change when a
// request is *sent*, never when it is answered, so one seed gives one sequence of
// operations whatever the server does (timestamps aside).
import { mulberry32 } from '../shared/random';

const DEVICE_MODELS = {
  ios: ['iPhone 13', 'iPhone 14 Pro', 'iPhone 15', 'iPhone SE'],
  android: ['Pixel 7', 'Pixel 8', 'Galaxy S23', 'Galaxy A54', 'Redmi Note 12'],
  web: ['Chrome', 'Firefox', 'Safari', 'Edge'],
};
const DEVICE_TYPES = Object.keys(DEVICE_MODELS) as (keyof typeof DEVICE_MODELS)[];
const STATUSES = ['active', 'idle', 'closed'];
const SCREENS = ['login', 'home', 'accounts', 'transfer', 'payees', 'cards', 'statements', 'settings'];

export type OpKind = 'create' | 'update' | 'delete' | 'event';

/** One request of the load: what it is, the method, the id it aims at, and the JSON body if any. */
export interface Operation {
  kind: OpKind;
  method: 'PUT' | 'PATCH' | 'DELETE' | 'POST';
  id: string;
  body: Record<string, unknown> | undefined;
}

/** A source of operations; `now` stamps the bodies. */
export interface Traffic {
  next(now?: string): Operation;
}

/** Create/update/delete weights. */
export interface Mix {
  create: number;
  update: number;
  delete: number;
}

type Rng = () => number;

const randomInt = (rng: Rng, n: number): number => Math.floor(rng() * n);
const pick = <T>(rng: Rng, list: readonly T[]): T => list[randomInt(rng, list.length)] as T;
const money = (rng: Rng, max: number): number => Math.round(rng() * max * 100) / 100;

/** A UUID (version 4 layout) built from the PRNG so that seeded runs repeat their event ids. */
export function prngUuid(rng: Rng): string {
  const bytes = Array.from({ length: 16 }, () => randomInt(rng, 256));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');

  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A set with O(1) add, remove and uniform random pick. */
class LiveSet {
  readonly #items: string[] = [];
  readonly #index = new Map<string, number>();

  get size(): number {
    return this.#items.length;
  }

  add(id: string): void {
    if (this.#index.has(id)) return;
    this.#index.set(id, this.#items.length);
    this.#items.push(id);
  }

  remove(id: string): void {
    const i = this.#index.get(id);
    if (i === undefined) return;
    const last = this.#items.pop() as string;
    if (last !== id) {
      this.#items[i] = last;
      this.#index.set(last, i);
    }
    this.#index.delete(id);
  }

  pick(rng: Rng): string {
    return pick(rng, this.#items);
  }
}

/** Session ids sess-000000 .. sess-<ids-1>, zero-padded to at least six digits. */
export function sessionId(index: number, poolSize: number): string {
  const width = Math.max(6, String(poolSize - 1).length);

  return `sess-${String(index).padStart(width, '0')}`;
}

/** The screens a session went through, in order: 3 to 7, about 5 on average (the shipped session_screens output). */
function screenVisits(rng: Rng): Record<string, unknown>[] {
  return Array.from({ length: 3 + randomInt(rng, 5) }, (_, position) => ({
    position,
    name: pick(rng, SCREENS),
    seconds: Math.round(rng() * 1200) / 10,
  }));
}

function newSession(rng: Rng, id: string, poolSize: number, now: string): Record<string, unknown> {
  const type = pick(rng, DEVICE_TYPES);
  const userCount = Math.max(1, Math.ceil(poolSize / 4));

  return {
    id,
    userId: `user-${String(randomInt(rng, userCount)).padStart(5, '0')}`,
    device: { type, model: pick(rng, DEVICE_MODELS[type]) },
    status: rng() < 0.8 ? 'active' : 'idle',
    amount: money(rng, 5000),
    createdAt: now,
    updatedAt: now,
    screens: screenVisits(rng),
  };
}

function sessionPatch(rng: Rng, now: string): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  const roll = rng();
  if (roll < 0.7) patch.status = pick(rng, STATUSES);
  if (roll >= 0.4) patch.amount = money(rng, 5000);
  // A merge patch replaces an array whole: the session's screens grow, shrink or change, and so do its rows.
  if (rng() < 0.3) patch.screens = screenVisits(rng);
  patch.updatedAt = now;

  return patch;
}

/** Document operations following the create/update/delete mix. */
export function createSessionTraffic({ seed, poolSize, mix }: { seed: number; poolSize: number; mix: Mix }): Traffic {
  const rng = mulberry32(seed);
  const live = new LiveSet();
  const total = mix.create + mix.update + mix.delete;

  function chooseKind(): OpKind {
    const r = rng() * total;
    if (r < mix.create) return 'create';

    return r < mix.create + mix.update ? 'update' : 'delete';
  }

  function create(now: string): Operation {
    const id = sessionId(randomInt(rng, poolSize), poolSize);
    live.add(id);

    return { kind: 'create', method: 'PUT', id, body: newSession(rng, id, poolSize, now) };
  }

  function update(now: string): Operation {
    return { kind: 'update', method: 'PATCH', id: live.pick(rng), body: sessionPatch(rng, now) };
  }

  function remove(): Operation {
    const id = live.pick(rng);
    live.remove(id);

    return { kind: 'delete', method: 'DELETE', id, body: undefined };
  }

  return {
    next(now = new Date().toISOString()) {
      const kind = chooseKind();
      if (kind === 'create' || live.size === 0) return create(now);

      return kind === 'update' ? update(now) : remove();
    },
  };
}

/**
 * Click events. The session is any id of the pool, not only live ones: reading the live set
 * here would tie this stream's sequence to how it interleaves with the document stream.
 */
export function createClickTraffic({ seed, poolSize }: { seed: number; poolSize: number }): Traffic {
  const rng = mulberry32((seed ^ 0x9e3779b9) >>> 0);

  return {
    next(now = new Date().toISOString()) {
      const body = {
        id: prngUuid(rng),
        sessionId: sessionId(randomInt(rng, poolSize), poolSize),
        screen: pick(rng, SCREENS),
        at: now,
      };

      return { kind: 'event', method: 'POST', id: body.id, body };
    },
  };
}
