// The client's own record of what ingest acknowledged, and what it can conclude from that.
//
// Every accepted write of a document gets the next version, and the 202 says which, so the acknowledged writes
// of one id, ordered by version, replay its history whatever order the concurrent clients saw the answers in.
// A request whose answer never came (ingest killed mid-request) may or may not have been applied: it is counted
// as "unknown" and may fill one version nobody acknowledged, but no more than one.
import { mergePatch } from './merge-patch.mjs';

export const DELETED = Symbol('deleted');
export const UNKNOWN = Symbol('unknown');

/** @typedef {{ op: 'put' | 'patch' | 'delete', body?: object }} AckedWrite */

class DocumentRecord {
  constructor() {
    /** @type {Map<number, AckedWrite>} acknowledged writes by version, from the newest put or delete on */
    this.writes = new Map();
    this.maxAcked = 0;
    /** requests whose outcome is unknown */
    this.unknown = 0;
    /** two acknowledgements that named the same version: must never happen */
    this.duplicateVersions = 0;
  }
}

export class Ledger {
  constructor() {
    /** @type {Map<string, DocumentRecord>} */
    this.documents = new Map();
    /** @type {Map<string, object>} event id → body, for every acknowledged event */
    this.events = new Map();
    /** event ids whose POST outcome is unknown */
    this.unknownEvents = new Set();
    this.ackedDocumentWrites = 0;
  }

  /** @param {string} id */
  record(id) {
    let record = this.documents.get(id);
    if (!record) {
      record = new DocumentRecord();
      this.documents.set(id, record);
    }
    return record;
  }

  /**
   * @param {string} id
   * @param {number} version
   * @param {AckedWrite} write
   */
  acked(id, version, write) {
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

  /** @param {string} id */
  unknownOutcome(id) {
    this.record(id).unknown += 1;
  }

  /** @param {string} id the newest version acknowledged for the id, 0 if none */
  lastAckedVersion(id) {
    return this.documents.get(id)?.maxAcked ?? 0;
  }

  /**
   * What the document must be at `version`, from acknowledged writes alone: a body, DELETED, or UNKNOWN when a
   * write in its history was never acknowledged.
   * @param {string} id
   * @param {number} version
   * @returns {object | typeof DELETED | typeof UNKNOWN}
   */
  stateAt(id, version) {
    const record = this.documents.get(id);
    const patches = [];
    for (let v = version; v > 0; v -= 1) {
      const write = record?.writes.get(v);
      if (!write) return UNKNOWN;
      if (write.op === 'patch') {
        patches.push(write.body);
        continue;
      }
      if (write.op === 'delete') return patches.length === 0 ? DELETED : UNKNOWN;
      return patches.reduceRight((doc, patch) => mergePatch(doc, patch), write.body);
    }
    return UNKNOWN;
  }
}
