import { type ChangeEntry, compareEntryIds } from '@app/contracts';

/** What one documentVersions-n.lua call answered. */
export interface VersionsAnswer {
  /** The partition's epoch: a token that changes when Redis loses the partition's data. */
  epoch: string;
  /** The id of the stream's last entry when Redis answered. */
  horizon: string;
  /** The ids asked about. */
  ids: readonly string[];
  /** Per id asked about, the version Redis held; 0 when it held no hash. */
  versions: readonly number[];
}

interface Known {
  version: number;
  horizon: string;
}

/**
 * The versions Redis was seen to hold, so that the later batches of a backlog need not ask about the same ids again.
 *
 * "Redis holds version V of id X" settles every change of X appended to the stream before Redis said so: one with a
 * lower version is superseded, because V's own entry follows it on the stream and will bring the row there; the one
 * with version V is written. Those changes are the ones whose entry id is at most the answer's horizon, since XADD
 * gives every new entry a higher id than the last. A change appended after the answer is asked about again: a deleted
 * id whose tombstones are gone starts its versions over. (Writing V when Redis has moved on since costs a row write
 * that the version guard makes harmless, as when a change is read just before its successor is appended.)
 *
 * A stream that is lost and begun again breaks that order, so the answers are forgotten when the partition's epoch
 * changes (Redis lost its data) and when the connection is made again (a restart, or a failover to a replica that
 * lagged).
 */
export class KnownVersions {
  private readonly known = new Map<string, Known>();
  private epoch?: string;

  /** @param capacity ids remembered at most; the ones first learned longest ago are forgotten first */
  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.known.size;
  }

  /**
   * What the answers remembered say of a change: 'superseded' when Redis held a newer version, 'newest' when it
   * held the change's own version (so it is written without asking again), undefined when they do not cover it.
   */
  verdict(change: ChangeEntry): 'superseded' | 'newest' | undefined {
    const known = this.known.get(change.id);
    if (known === undefined || change.version > known.version || compareEntryIds(change.entryId, known.horizon) > 0) {
      return undefined;
    }

    return change.version < known.version ? 'superseded' : 'newest';
  }

  /**
   * Remembers an answer. Returns false when its epoch is not the one the answers remembered so far came with:
   * those are forgotten, and whatever was decided with them must be asked again.
   */
  learn({ epoch, horizon, ids, versions }: VersionsAnswer): boolean {
    const held = this.epoch === undefined || this.epoch === epoch;
    if (!held) {
      this.forget();
    }
    this.epoch = epoch;
    ids.forEach((id, i) => {
      const version = versions[i] ?? 0;
      if (version > 0) {
        this.known.set(id, { version, horizon });
      }
    });
    for (const id of this.known.keys()) {
      if (this.known.size <= this.capacity) {
        break;
      }
      this.known.delete(id);
    }

    return held;
  }

  forget(): void {
    this.known.clear();
  }
}
