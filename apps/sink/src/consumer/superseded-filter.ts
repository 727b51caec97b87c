import { type ChangeEntry, ChangeOp } from '@app/contracts';
import { KnownVersions, type VersionsAnswer } from './known-versions';

/** Ids whose versions a consumer remembers (about 100 bytes each); a 1M-entry backlog over 100k ids fits. */
const KNOWN_VERSIONS_PER_PARTITION = 100_000;

/** Asks Redis which versions it holds of these document ids (one documentVersions-n.lua call). */
export type VersionsLookup = (ids: string[]) => Promise<VersionsAnswer>;

/**
 * Finds the document changes whose document Redis already holds at a newer version. Each version in Redis has its
 * own entry on the stream, written atomically with it, so the newest one will bring the row there: the older ones
 * need no write. This coalesces across the whole backlog, not only within a batch; when Redis no longer holds a
 * document (expired, or a lingering tombstone gone), its changes are written as usual. Redis is asked only about the
 * changes that the answers to earlier batches do not settle ({@link KnownVersions}).
 */
export class SupersededFilter {
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

    return superseded;
  }

  /** Forgets every answer, as when the connection is made again (it may reach a server that lacks what was seen). */
  forget(): void {
    this.known.forget();
  }
}
