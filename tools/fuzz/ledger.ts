// What the valid traffic of a fuzz run was acknowledged for, to compare with PostgreSQL after the drain.
// Valid writes to one id never overlap (the runner holds a lock per id), so each id's state follows from its
// acknowledged writes in order.

export type JsonObject = Record<string, unknown>;

export interface DocState {
  version: number;
  live: boolean;
  doc?: JsonObject;
}

export class Ledger {
  /** document id → state after its last acknowledged write */
  readonly docs = new Map<string, DocState>();
  /** event id → the event as first acknowledged */
  readonly events = new Map<string, JsonObject>();
  /** stream entries the acknowledged writes added, per collection kind */
  readonly entries = { docs: 0, events: 0 };
  /** ids a valid request is in flight for */
  private readonly locked = new Set<string>();
  /** problems found while recording: a version that did not go up, a 202 with a bad body */
  readonly anomalies: string[] = [];

  state(id: string): DocState {
    return this.docs.get(id) ?? { version: 0, live: false };
  }

  tryLock(id: string): boolean {
    if (this.locked.has(id)) return false;
    this.locked.add(id);

    return true;
  }

  unlock(id: string): void {
    this.locked.delete(id);
  }

  /** An acknowledged document write: `doc` is the stored document (undefined for a delete). */
  recordDoc(id: string, version: number, doc: JsonObject | undefined): void {
    const before = this.state(id);
    if (!(Number.isInteger(version) && version > before.version)) {
      this.anomalies.push(`${id}: acknowledged version ${version} after ${before.version}`);
    }
    this.docs.set(id, doc === undefined ? { version, live: false } : { version, live: true, doc });
    this.entries.docs += 1;
  }

  /** An acknowledged event; a second copy of an id adds no entry and keeps the first document. */
  recordEvent(id: string, doc: JsonObject): void {
    if (this.events.has(id)) return;
    this.events.set(id, doc);
    this.entries.events += 1;
  }

  /** Live documents as they must appear in PostgreSQL. */
  expectedRows(): Map<string, { version: number; doc: JsonObject | undefined }> {
    return new Map([...this.docs].filter(([, s]) => s.live).map(([id, s]) => [id, { version: s.version, doc: s.doc }]));
  }
}
