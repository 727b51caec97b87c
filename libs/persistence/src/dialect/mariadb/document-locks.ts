import type { SqlSession, Statement } from '../sql-dialect';
import { MariadbSession } from './mariadb-session';
import { IN_LIST_MAX } from './statement-chunks';

/**
 * spillway_lock_slots holds 2^LOCK_SLOT_BITS rows (migrations/1765000100000-create-lock-slots.ts). A document's lock
 * is the row of its slot, a hash of `collection:id`: two documents that share a slot only wait for each other.
 *
 * Why 2^20 (38 MB): two concurrent batches of 500 documents share a slot with probability 1 - e^(-500²/slots), and
 * the later then waits for the earlier's commit. Measured on MariaDB 10.11 (2 shared cores), two writers of disjoint
 * random ids in 500-put batches: with 2^16 slots (98% of batch pairs share one) 28-30k updates/s against 42-43k/s
 * with the ids picked so that no slot is shared; with 2^20 (21% share one) the same as without sharing, within the
 * noise (31-39k/s). Locking 500 slots takes 2.5 ms of a 15 ms batch at 2^16, 3.4 ms at 2^20.
 */
export const LOCK_SLOT_BITS = 20;

const LOCK_SLOTS: Statement = {
  name: '',
  text: 'SELECT slot FROM spillway_lock_slots WHERE slot IN (?) ORDER BY slot FOR UPDATE',
};

/** The lock slot of a document: FNV-1a of `collection:id` (UTF-16 code units), folded to LOCK_SLOT_BITS. */
export function lockSlotOf(collection: string, id: string): number {
  const key = `${collection}:${id}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  }
  hash >>>= 0;

  return (hash ^ (hash >>> LOCK_SLOT_BITS)) & ((1 << LOCK_SLOT_BITS) - 1);
}

/**
 * Locks documents of a collection until the session's transaction ends: the rows of their lock slots, `FOR UPDATE`,
 * in slot order, so writers of the same documents in any order queue instead of deadlocking, and the later one
 * reads what the earlier one committed. Take it before the transaction's first plain read: under REPEATABLE READ
 * (the server's default) every plain read sees the snapshot of the first.
 *
 * Why rows and not GET_LOCK: a named lock belongs to the connection, not the transaction, so it would outlive a
 * commit or a rollback and follow the connection back into the pool unless released after each, and the
 * {@link SqlSession} has no such hook; a row lock ends with the transaction, also when the connection dies. The rows
 * are there from the migration, so a lock is a read of existing keys (record locks, no gap locks, no writes).
 */
export async function lockDocuments(session: SqlSession, collection: string, ids: readonly string[]): Promise<void> {
  if (session instanceof MariadbSession && session.inTransaction === false) {
    // Outside a transaction each statement commits, and the locks with it: the versions read next would guard nothing.
    throw new Error('document locks last until the transaction ends: start one before writing documents or events');
  }
  const slots = [...new Set(ids.map((id) => lockSlotOf(collection, id)))].sort((a, b) => a - b);
  for (let start = 0; start < slots.length; start += IN_LIST_MAX) {
    const chunk = slots.slice(start, start + IN_LIST_MAX);
    const locked = await session.rows<{ slot: number }>(LOCK_SLOTS, [chunk]);
    if (locked.length !== chunk.length) {
      // A missing row would be a gap lock, which does not exclude: refuse rather than write unlocked.
      throw new Error(`spillway_lock_slots lacks ${chunk.length - locked.length} lock slots: run the migrations`);
    }
  }
}
