// The client's own record of what ingest acknowledged, and what it can conclude from that.
//
// Every accepted write of a document gets the next version, and the 202 says which, so the acknowledged writes
// of one id, ordered by version, replay its history whatever order the concurrent clients saw the answers in.
// A request whose answer never came (ingest killed mid-request) may or may not have been applied: it is counted
// as "unknown" and may fill one version nobody acknowledged, but no more than one.
import { applyMergePatch } from '@app/contracts';

export const DELETED = Symbol('deleted');
export const UNKNOWN = Symbol('unknown');

export type JsonObject = Record<string, unknown>;

export interface AckedWrite {
  op: 'put' | 'patch' | 'delete';
  body?: JsonObject;
}

export class DocumentRecord {
  /** acknowledged writes by version, from the newest put or delete on */
  readonly writes = new Map<number, AckedWrite>();
  maxAcked = 0;
  /** requests whose outcome is unknown */
  unknown = 0;
  /** two acknowledgements that named the same version: must never happen */
  duplicateVersions = 0;
}

export class Ledger {
  readonly documents = new Map<string, DocumentRecord>();
  /** event id → body, for every acknowledged event */
  readonly events = new Map<string, JsonObject>();
  /** event ids whose POST outcome is unknown */
  readonly unknownEvents = new Set<string>();
  ackedDocumentWrites = 0;

  record(id: string): DocumentRecord {
    let record = this.documents.get(id);
    if (!record) {
      record = new DocumentRecord();
      this.documents.set(id, record);
    }

    return record;
  }

  acked(id: string, version: number, write: AckedWrite): void {
    const record = this.record(id);
    this.ackedDocumentWrites += 1;
    if (record.writes.has(version)) record.duplicateVersions += 1;
    record.writes.set(version, write);
    if (version > record.maxAcked) record.maxAcked = version;
    // A put or delete makes the past irrelevant to what the document is now: keep memory bounded.
    if (write.op !== 'patch') {
      for (const older of record.writes.keys()) if (older < version) record.writes.delete(older);
    }
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
