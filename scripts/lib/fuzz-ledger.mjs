// What the valid traffic of a fuzz run was acknowledged for, to compare with PostgreSQL after the drain.
// Valid writes to one id never overlap (the runner holds a lock per id), so each id's state follows from its
// acknowledged writes in order.
import { mergePatch } from './merge-patch.mjs';

/**
 * @typedef {Record<string, unknown>} JsonObject
 * @typedef {{ version: number, live: boolean, doc?: JsonObject }} DocState
 */

export class Ledger {
  constructor() {
    /** @type {Map<string, DocState>} document id → state after its last acknowledged write */
    this.docs = new Map();
    /** @type {Map<string, JsonObject>} event id → the event as first acknowledged */
    this.events = new Map();
    /** stream entries the acknowledged writes added, per collection kind */
    this.entries = { docs: 0, events: 0 };
    /** ids a valid request is in flight for */
    this.locked = new Set();
    /** problems found while recording: a version that did not go up, a 202 with a bad body */
    /** @type {string[]} */
    this.anomalies = [];
  }

  /** @param {string} id */
  state(id) {
    return this.docs.get(id) ?? { version: 0, live: false };
  }

  /** @param {string} id */
  tryLock(id) {
    if (this.locked.has(id)) return false;
    this.locked.add(id);
    return true;
  }

  /** @param {string} id */
  unlock(id) {
    this.locked.delete(id);
  }

  /**
   * An acknowledged document write: `doc` is the stored document (undefined for a delete).
   * @param {string} id
   * @param {number} version
   * @param {JsonObject | undefined} doc
   */
  recordDoc(id, version, doc) {
    const before = this.state(id);
    if (!(Number.isInteger(version) && version > before.version)) {
      this.anomalies.push(`${id}: acknowledged version ${version} after ${before.version}`);
    }
    this.docs.set(id, doc === undefined ? { version, live: false } : { version, live: true, doc });
    this.entries.docs += 1;
  }

  /**
   * An acknowledged event; a second copy of an id adds no entry and keeps the first document.
   * @param {string} id
   * @param {JsonObject} doc
   */
  recordEvent(id, doc) {
    if (this.events.has(id)) return;
    this.events.set(id, doc);
    this.entries.events += 1;
  }

  /** Live documents as they must appear in PostgreSQL. */
  expectedRows() {
    return new Map([...this.docs].filter(([, s]) => s.live).map(([id, s]) => [id, { version: s.version, doc: s.doc }]));
  }
}
