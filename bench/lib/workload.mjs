// Seeded payloads shared by every phase: ids, ~300-byte session documents, uniform and hot-key id pickers.

/** mulberry32 (the load generator's), so a run can be repeated with --seed. */
export { mulberry32 as seededRandom } from '../../scripts/lib/loadgen-traffic.mjs';

/**
 * @param {number} count
 * @returns {string[]} `s-0000000` … in a fixed order
 */
export function makeIds(count) {
  return Array.from({ length: count }, (_, i) => `s-${String(i).padStart(7, '0')}`);
}

const STATUSES = ['active', 'idle', 'closed'];
const DEVICES = [
  ['ios', 'iPhone 15 Pro'],
  ['android', 'Pixel 8'],
  ['web', 'Firefox 131'],
];
const SCREENS = ['home', 'accounts', 'transfer/confirm', 'cards/limits', 'statements', 'settings/security'];
const TARGET_BYTES = 300;

/**
 * Session documents that satisfy config/collections/sessions.yaml, each JSON text about 300 bytes (without "id").
 * @param {() => number} random
 * @param {number} count
 * @returns {string[]} JSON texts
 */
export function makeDocuments(random, count) {
  const pick = (list) => list[Math.floor(random() * list.length)];
  const docs = [];
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
 * The document as ingest stores it: the key field "id" first, then the body's members.
 * @param {string} id
 * @param {string} json a JSON object text without "id"
 */
export const withId = (id, json) => `{"id":${JSON.stringify(id)},${json.slice(1)}`;

/**
 * Picks ids uniformly, or with `hotShare` of the picks going to the first `hotFraction` of the ids.
 * @param {() => number} random
 * @param {string[]} ids
 * @param {{ hotFraction?: number, hotShare?: number }} [skew]
 * @returns {() => string}
 */
export function idPicker(random, ids, skew = {}) {
  const hotCount = Math.max(1, Math.floor(ids.length * (skew.hotFraction ?? 0)));
  const hotShare = skew.hotShare ?? 0;
  return () =>
    hotShare > 0 && random() < hotShare ? ids[Math.floor(random() * hotCount)] : ids[Math.floor(random() * ids.length)];
}

/**
 * Distinct ids for one batch, in key order (as concurrent writers must take row locks, to avoid deadlocks).
 * @param {() => string} pick
 * @param {number} size
 */
export function distinctBatch(pick, size) {
  const chosen = new Set();
  while (chosen.size < size) chosen.add(pick());
  return [...chosen].sort();
}
