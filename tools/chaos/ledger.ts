// The client's own record of what ingest acknowledged, and what it can conclude from that.
//
// Every accepted write of a document gets the next version, and the 202 says which, so the acknowledged writes
// of one id, ordered by version, replay its history whatever order the concurrent clients saw the answers in.
// A request whose answer never came (ingest killed mid-request) may or may not have been applied: it is counted
// as "unknown" and may fill one version nobody acknowledged, but no more than one.
//
// Every request is numbered as it is sent, and each acknowledgement keeps the number of its request, so that the check
// can tell whether a write Redis lost was sent just before a Redis Cluster master was killed (LedgerMark). The number
// of the request, not the order of the answers: a _bulk answer can come seconds after the master applied its items,
// once its other partitions' items got through a failover.
//
// Each acknowledgement also keeps the durability level its answer named (the `Durability` response header, `memory`
// when there is none): only a `memory` write may be lost by a failover; one that was replicated (or further) never.
import { applyMergePatch } from '@app/contracts';
import { VersionRanges } from './version-ranges';

export const DELETED = Symbol('deleted');
export const UNKNOWN = Symbol('unknown');

export type JsonObject = Record<string, unknown>;

export interface AckedWrite {
  op: 'put' | 'patch' | 'delete';
  body?: JsonObject;
}

/** The one durability level whose acknowledged writes a failover may lose: the primary's memory alone. */
export const LOSSY_LEVEL = 'memory';

/** Whether a failover may lose a write acknowledged at `level` (only `memory`'s). */
export const allowsLoss = (level: string): boolean => level === LOSSY_LEVEL;

/**
 * A version acknowledged twice: Redis lost one write (a failover) and handed its version out again. The lost one is
 * the one sent first, which the dead master applied; its answer can come after the other's (a _bulk held up by the
 * failover).
 */
export interface ReissuedVersion {
  version: number;
  /** the request number of the lost acknowledgement, when the ledger still kept both writes */
  firstSeq: number | undefined;
  /** the request number of the later of the two acknowledgements */
  seq: number;
  /**
   * the level the lost acknowledgement named, when it allows no loss (and the ledger still kept both writes): set, the
   * loss is a mismatch
   */
  lostLevel?: string;
}

export class DocumentRecord {
  /** acknowledged writes by version, from the newest put or delete on, each with its request number and level */
  readonly writes = new Map<number, AckedWrite & { seq: number; level: string }>();
  /** every version acknowledged, compactly */
  readonly versions = new VersionRanges();
  /** the versions acknowledged at a level that allows no loss (replicated, aof, persisted) */
  readonly durableVersions = new VersionRanges();
  maxAcked = 0;
  /** the request number of the acknowledgement of maxAcked */
  maxAckedSeq = 0;
  /** requests whose outcome is unknown */
  unknown = 0;
  /** two acknowledgements that named the same version: only a failover that lost the first may cause one */
  duplicateVersions = 0;
  readonly reissued: ReissuedVersion[] = [];
}

/** How many requests had been sent at a moment of the run. */
export interface LedgerMark {
  requests: number;
}

export class Ledger {
  readonly documents = new Map<string, DocumentRecord>();
  /** event id → body, for every acknowledged event */
  readonly events = new Map<string, JsonObject>();
  /** event id → the number of the request that first got it acknowledged */
  readonly eventRequests = new Map<string, number>();
  /** event ids whose POST outcome is unknown */
  readonly unknownEvents = new Set<string>();
  /** event ids acknowledged at a level that allows no loss */
  readonly durableEvents = new Set<string>();
  /** acknowledgements (document writes and events) by the level their answer named */
  readonly acksByLevel: Record<string, number> = {};
  ackedDocumentWrites = 0;
  requestsSent = 0;

  record(id: string): DocumentRecord {
    let record = this.documents.get(id);
    if (!record) {
      record = new DocumentRecord();
      this.documents.set(id, record);
    }

    return record;
  }

  /** Numbers a request about to be sent; give the number to acked() or ackedEvent() with its answer. */
  nextRequest(): number {
    this.requestsSent += 1;

    return this.requestsSent;
  }

  /** The requests sent so far: one sent after this has a higher number than the mark's count. */
  mark(): LedgerMark {
    return { requests: this.requestsSent };
  }

  /**
   * An acknowledged document write; `request` is its request's number (default: a request of its own), `level` the
   * durability its answer named.
   */
  acked(id: string, version: number, write: AckedWrite, request = this.nextRequest(), level = LOSSY_LEVEL): void {
    const record = this.record(id);
    this.ackedDocumentWrites += 1;
    this.acksByLevel[level] = (this.acksByLevel[level] ?? 0) + 1;
    const seq = request;
    const known = record.writes.get(version);
    if (!record.versions.add(version)) {
      record.duplicateVersions += 1;
      const lost = known === undefined ? undefined : Math.min(known.seq, seq);
      const lostLevel = known === undefined ? undefined : known.seq < seq ? known.level : level;
      record.reissued.push({
        version,
        firstSeq: lost,
        seq: Math.max(known?.seq ?? seq, seq),
        ...(lostLevel === undefined || allowsLoss(lostLevel) ? {} : { lostLevel }),
      });
    }
    if (!allowsLoss(level)) record.durableVersions.add(version);
    // Of two acknowledgements of one version, Redis holds the one sent last: the other was lost.
    if (!known || known.seq < seq) record.writes.set(version, { ...write, seq, level });
    if (version > record.maxAcked) {
      record.maxAcked = version;
      record.maxAckedSeq = seq;
    }
    // A put or delete makes the past irrelevant to what the document is now: keep memory bounded.
    if (write.op !== 'patch') {
      for (const older of record.writes.keys()) if (older < version) record.writes.delete(older);
    }
  }

  /** An acknowledged event; `request` is its request's number (default: a request of its own). */
  ackedEvent(id: string, body: JsonObject, request = this.nextRequest(), level = LOSSY_LEVEL): void {
    this.acksByLevel[level] = (this.acksByLevel[level] ?? 0) + 1;
    if (!allowsLoss(level)) this.durableEvents.add(id);
    this.events.set(id, body);
    if (!this.eventRequests.has(id)) this.eventRequests.set(id, request);
  }

  unknownOutcome(id: string): void {
    this.record(id).unknown += 1;
  }

  /** The newest version acknowledged for the id, 0 if none. */
  lastAckedVersion(id: string): number {
    return this.documents.get(id)?.maxAcked ?? 0;
  }

  /**
   * What the document must be at `version`, from acknowledged writes alone: a body, DELETED, or UNKNOWN when a
   * write in its history was never acknowledged.
   */
  stateAt(id: string, version: number): JsonObject | typeof DELETED | typeof UNKNOWN {
    const record = this.documents.get(id);
    const patches: JsonObject[] = [];
    for (let v = version; v > 0; v -= 1) {
      const write = record?.writes.get(v);
      if (!write) return UNKNOWN;
      if (write.op === 'patch') {
        patches.push(write.body ?? {});
        continue;
      }
      if (write.op === 'delete') return patches.length === 0 ? DELETED : UNKNOWN;

      // The merge works on a copy: the recorded body must stay as acknowledged for the next question.
      return patches.reduceRight<JsonObject>(
        (doc, patch) => applyMergePatch(doc, patch) as JsonObject,
        structuredClone(write.body ?? {}),
      );
    }

    return UNKNOWN;
  }
}
