import { ChangeOp, type ChangeEntry } from '@app/contracts';

/** A batch reduced to the writes that matter: one per document id, one per event id. */
export interface CoalescedBatch {
  puts: ChangeEntry[];
  deletes: ChangeEntry[];
  events: ChangeEntry[];
  /** Entries made redundant by a newer version (or an earlier copy of the same event) in the same batch. */
  superseded: ChangeEntry[];
}

/** Keeps the highest version of each document and the first copy of each event. */
export function coalesce(entries: readonly ChangeEntry[]): CoalescedBatch {
  const documents = new Map<string, ChangeEntry>();
  const events = new Map<string, ChangeEntry>();
  const superseded: ChangeEntry[] = [];
  for (const entry of entries) {
    const winners = entry.op === ChangeOp.EVENT ? events : documents;
    const current = winners.get(entry.id);
    if (current === undefined) {
      winners.set(entry.id, entry);
    } else if (entry.op !== ChangeOp.EVENT && entry.version > current.version) {
      winners.set(entry.id, entry);
      superseded.push(current);
    } else {
      superseded.push(entry);
    }
  }
  const latest = [...documents.values()];

  return {
    puts: latest.filter((e) => e.op === ChangeOp.PUT),
    deletes: latest.filter((e) => e.op === ChangeOp.DELETE),
    events: [...events.values()],
    superseded,
  };
}
