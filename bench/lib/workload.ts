// Seeded payloads shared by every phase: ids, ~300-byte session documents, uniform and hot-key id pickers.

/** mulberry32 (the load generator's), so a run can be repeated with --seed. */
export { mulberry32 as seededRandom } from '../../tools/shared/random';

/** `s-0000000` … in a fixed order. */
export function makeIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `s-${String(i).padStart(7, '0')}`);
}

const STATUSES = ['active', 'idle', 'closed'] as const;
const DEVICES = [
  ['ios', 'iPhone 15 Pro'],
  ['android', 'Pixel 8'],
  ['web', 'Firefox 131'],
] as const;
const SCREENS = ['home', 'accounts', 'transfer/confirm', 'cards/limits', 'statements', 'settings/security'] as const;
const TARGET_BYTES = 300;

/** Session documents that satisfy config/collections/sessions.yaml, each JSON text about 300 bytes (without "id"). */
export function makeDocuments(random: () => number, count: number): string[] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    const [type, model] = pick(DEVICES);
    const at = new Date(Date.UTC(2026, 10, 1) + Math.floor(random() * 30 * 86_400_000)).toISOString();
    const doc = {
      userId: `u-${Math.floor(random() * 1_000_000)}`,
      status: pick(STATUSES),
      device: { type, model },
      amount: Math.round(random() * 1_000_000) / 100,
      createdAt: at,
      updatedAt: at,
      screen: pick(SCREENS),
      locale: 'en-GB',
      appVersion: `7.${Math.floor(random() * 20)}.${Math.floor(random() * 10)}`,
      note: '',
    };
    const bare = JSON.stringify(doc).length;
    let note = '';
    while (note.length < TARGET_BYTES - bare) note += Math.floor(random() * 36).toString(36);
    doc.note = note;
    docs.push(JSON.stringify(doc));
  }

  return docs;
}

/**
 * The documents with a `screens` array added (3 to 7 elements, about 5, each `{position, name, seconds}`), as the
 * outputs of config/collections/sessions.yaml read it: the mapped drain's documents.
 */
export function withScreens(random: () => number, docs: string[]): string[] {
  return docs.map((json) => {
    const count = 3 + Math.floor(random() * 5);
    const screens = Array.from({ length: count }, (_, position) => ({
      position,
      name: SCREENS[Math.floor(random() * SCREENS.length)] as string,
      seconds: Math.round(random() * 1200) / 10,
    }));

    return JSON.stringify({ ...(JSON.parse(json) as Record<string, unknown>), screens });
  });
}

/** The document as ingest stores it: the key field "id" first, then the members of `json` (an object without "id"). */
export const withId = (id: string, json: string): string => `{"id":${JSON.stringify(id)},${json.slice(1)}`;

export interface Skew {
  /** the share of the ids that are hot */
  hotFraction?: number;
  /** the share of the picks that go to the hot ids */
  hotShare?: number;
}

/** Picks ids uniformly, or with `hotShare` of the picks going to the first `hotFraction` of the ids. */
export function idPicker(random: () => number, ids: string[], skew: Skew = {}): () => string {
  const hotCount = Math.max(1, Math.floor(ids.length * (skew.hotFraction ?? 0)));
  const hotShare = skew.hotShare ?? 0;

  return () =>
    (hotShare > 0 && random() < hotShare
      ? ids[Math.floor(random() * hotCount)]
      : ids[Math.floor(random() * ids.length)]) as string;
}

/** Distinct ids for one batch, in key order (as concurrent writers must take row locks, to avoid deadlocks). */
export function distinctBatch(pick: () => string, size: number): string[] {
  const chosen = new Set<string>();
  while (chosen.size < size) chosen.add(pick());

  return [...chosen].sort();
}
