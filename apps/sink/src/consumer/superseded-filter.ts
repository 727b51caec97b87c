import { type ChangeEntry, ChangeOp } from '@app/contracts';
import { KnownVersions, type VersionsAnswer } from './known-versions';

/** Ids whose versions a consumer remembers (about 100 bytes each); a 1M-entry backlog over 100k ids fits. */
const KNOWN_VERSIONS_PER_PARTITION = 100_000;

/** A lookup of fewer documents than this never makes later batches skip theirs (see {@link SupersededFilter}). */
export const SKIP_AFTER_DOCUMENTS = 100;

/** The most batches in a row that skip the lookup: one lookup in every MAX_SKIPPED + 1 batches at least. */
export const MAX_SKIPPED = 7;

/** Asks Redis which versions it holds of these document ids (one documentVersions-n.lua call). */
export type VersionsLookup = (ids: string[]) => Promise<VersionsAnswer>;

/**
 * Finds the document changes whose document Redis already holds at a newer version. Each version in Redis has its
 * own entry on the stream, written atomically with it, so the newest one will bring the row there: the older ones
 * need no write. This coalesces across the whole backlog, not only within a batch; when Redis no longer holds a
 * document (expired, or a lingering tombstone gone), its changes are written as usual. Redis is asked only about the
 * changes that the answers to earlier batches do not settle ({@link KnownVersions}).
 *
 * A lookup costs Redis an HGET a document and the sink about 2 µs a document, for nothing where every entry is a new
 * document or each document is written once (a drain of 300,000 first writes by 2 sinks: Redis 6.7 µs a row with a
 * lookup for every batch). So when the lookup of a batch of at least {@link SKIP_AFTER_DOCUMENTS} documents finds
 * none superseded, the next batch skips it, then after another such lookup the next 2, 4, up to
 * {@link MAX_SKIPPED}; a lookup that finds one superseded brings it back for every batch. A batch that skips it is
 * written whole, and the version guard makes a superseded change in it stale, as it does a redelivery. The answers
 * remembered are not used for it either: only a lookup's epoch shows that they still hold.
 */
export class SupersededFilter {
  /** Batches of documents still to skip the lookup. */
  private skips = 0;
  /** How many the last lookup that found none superseded made skip. */
  private lastSkips = 0;

  /** @param onDataLost called when an answer's epoch shows that Redis lost the partition's data since the last one */
  constructor(
    private readonly lookup: VersionsLookup,
    private readonly onDataLost: () => void = () => undefined,
    private readonly known = new KnownVersions(KNOWN_VERSIONS_PER_PARTITION),
  ) {}

  /** The changes that need no write, asking Redis about those the remembered answers do not settle. */
  async supersededIn(changes: readonly ChangeEntry[]): Promise<Set<ChangeEntry>> {
    const documents = changes.filter((c) => c.op !== ChangeOp.EVENT);
    if (documents.length === 0) {
      return new Set();
    }
    if (this.skips > 0) {
      this.skips -= 1;

      return new Set();
    }
    const superseded = new Set<ChangeEntry>();
    const asked: ChangeEntry[] = [];
    for (const change of documents) {
      const verdict = this.known.verdict(change);
      if (verdict === 'superseded') {
        superseded.add(change);
      } else if (verdict === undefined) {
        asked.push(change);
      }
    }
    const answer = await this.lookup(asked.map((c) => c.id)); // asked even when empty: the answer carries the epoch
    if (!this.known.learn(answer)) {
      this.onDataLost();
      if (asked.length < documents.length) {
        return this.supersededIn(changes); // what was remembered no longer holds
      }
    }
    asked.forEach((change, i) => {
      if ((answer.versions[i] ?? 0) > change.version) {
        superseded.add(change);
      }
    });
    this.planSkips(documents.length, superseded.size);

    return superseded;
  }

  private planSkips(documents: number, superseded: number): void {
    if (superseded > 0 || documents < SKIP_AFTER_DOCUMENTS) {
      this.lastSkips = 0;
    } else {
      this.lastSkips = Math.min(MAX_SKIPPED, Math.max(1, this.lastSkips * 2));
      this.skips = this.lastSkips;
    }
  }

  /** Forgets every answer, as when the connection is made again (it may reach a server that lacks what was seen). */
  forget(): void {
    this.known.forget();
    this.skips = 0;
    this.lastSkips = 0;
  }
}
