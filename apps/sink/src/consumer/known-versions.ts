import { type ChangeEntry, compareEntryIds } from '@app/contracts';

/** What one documentVersions-n.lua call answered. */
export interface VersionsAnswer {
  /** The partition's epoch: a token that changes when Redis loses the partition's data. */
  epoch: string;
  /** The id of the stream's last entry when Redis answered. */
  horizon: string;
  /** Per id asked about, the version Redis held; 0 when it held no hash. */
  versions: ReadonlyMap<string, number>;
}

interface Known {
  version: number;
  horizon: string;
}

/**
 * The versions Redis was seen to hold, so that the later batches of a backlog need not ask about the same ids again.
 *
 * "Redis holds version V of id X" settles every change of X appended to the stream before Redis said so: one with a
 * lower version is superseded, because V's own entry follows it on the stream and will bring the row there. Those
 * changes are the ones whose entry id is at most the answer's horizon, since XADD gives every new entry a higher
 * id than the last. A change appended after the answer is asked about again: a deleted id whose tombstones are gone
 * starts its versions over.
 *
 * A stream that is lost and begun again breaks that order, so the answers are forgotten when the partition's epoch
 * changes (Redis lost its data) and when the connection is made again (a restart, or a failover to a replica that
 * lagged).
 */
export class KnownVersions {
  private readonly known = new Map<string, Known>();
  private epoch?: string;

  /** @param capacity ids remembered at most; the ones learned longest ago are forgotten first */
  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.known.size;
  }

  /** True when an answer remembered shows the change superseded. */
  supersedes(change: ChangeEntry): boolean {
    const known = this.known.get(change.id);

    return known !== undefined && change.version < known.version && compareEntryIds(change.entryId, known.horizon) <= 0;
  }

  /**
   * Remembers an answer. Returns false when its epoch is not the one the answers remembered so far came with:
   * those are forgotten, and whatever was decided with them must be asked again.
   */
  learn({ epoch, horizon, versions }: VersionsAnswer): boolean {
    const held = this.epoch === undefined || this.epoch === epoch;
    if (!held) {
      this.forget();
    }
    this.epoch = epoch;
    for (const [id, version] of versions) {
      this.known.delete(id); // re-inserted at the end, so it is evicted last
      if (version > 0) {
        this.known.set(id, { version, horizon });
      }
    }
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
