import { compareEntryIds } from '@app/contracts';

/** A raw stream entry as Redis returns it: id and flat field list (null when the entry was deleted). */
export interface RawEntry {
  id: string;
  fields: string[] | null;
  /** How many times the group has delivered it, this delivery included. */
  deliveries: number;
}

type EntryTuple = [string, string[] | null];

/** XREADGROUP reply (RESP2) for one stream: `[[stream, [[id, fields], …]]]` or null on timeout. */
export function parseReadGroupReply(reply: unknown): RawEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) {
    return [];
  }
  const [, entries] = reply[0] as [string, EntryTuple[]];

  return entries.map(([id, fields]) => ({ id, fields, deliveries: 1 }));
}

/** XAUTOCLAIM reply: `[nextCursor, [[id, fields], …], deletedIds]`. */
export function parseAutoClaimReply(reply: unknown): { cursor: string; entries: RawEntry[] } {
  const [cursor, entries] = reply as [string, EntryTuple[], string[] | undefined];

  return { cursor, entries: entries.map(([id, fields]) => ({ id, fields, deliveries: 0 })) };
}

/** XPENDING extended reply: `[[id, consumer, idleMs, deliveries], …]` → deliveries by id. */
export function parseDeliveryCounts(reply: unknown): Map<string, number> {
  return new Map((reply as [string, string, number, number][]).map(([id, , , count]) => [id, Number(count)]));
}

/** The entry id that follows `id`, for exclusive ranges. */
export function nextEntryId(id: string): string {
  const dash = id.indexOf('-');

  return `${id.slice(0, dash)}-${BigInt(id.slice(dash + 1)) + 1n}`;
}

/** Lower of two entry ids. */
export function minEntryId(a: string, b: string): string {
  return compareEntryIds(a, b) <= 0 ? a : b;
}
