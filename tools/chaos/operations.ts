// The chaos run's operations: a seeded sequence of document writes, events and _bulk requests. Hot ids (1% of
// them) take half of the document writes.
import { mulberry32 } from '../shared/random';
import type { JsonObject } from './ledger';

const RECENT_EVENTS_KEPT = 500;
const TIERS = ['free', 'plus', 'pro'];
const REGIONS = ['eu-west', 'us-east', 'ap-south'];
const EVENT_KINDS = ['click', 'view', 'buy'];

export interface SentEvent {
  id: string;
  body: JsonObject;
}

export type BulkItem =
  | { op: 'put'; id: string; doc: JsonObject }
  | { op: 'patch'; id: string; doc: JsonObject }
  | { op: 'delete'; id: string };

export type Operation =
  | { kind: 'put'; id: string; body: JsonObject; conditional?: boolean }
  | { kind: 'create'; id: string; body: JsonObject }
  | { kind: 'patch'; id: string; body: JsonObject }
  | { kind: 'delete'; id: string }
  | ({ kind: 'event' } & SentEvent)
  | { kind: 'bulk-docs'; items: BulkItem[] }
  | { kind: 'bulk-events'; events: SentEvent[] };

const pickFrom = <T>(list: readonly T[], index: number): T => list[index] as T;

/** Seeded operations: the same seed gives the same sequence of requests. */
export class OperationSource {
  private readonly random: () => number;
  private readonly hotIds: number;
  private step = 0;
  private eventSeq = 0;
  private readonly recentEvents: SentEvent[] = [];

  constructor(private readonly options: { seed: number; ids: number }) {
    this.random = mulberry32(options.seed);
    this.hotIds = Math.max(1, Math.round(options.ids / 100));
  }

  private int(n: number): number {
    return Math.floor(this.random() * n);
  }

  private docId(): string {
    const hot = this.random() < 0.5;

    return `doc-${hot ? this.int(this.hotIds) : this.hotIds + this.int(this.options.ids - this.hotIds)}`;
  }

  private docBody(): JsonObject {
    this.step += 1;

    return {
      owner: `u${this.int(500)}`,
      amount: this.int(10_000_000) / 100,
      step: this.step,
      tags: Array.from({ length: this.int(4) }, () => `t${this.int(50)}`),
      profile: { tier: pickFrom(TIERS, this.int(TIERS.length)), region: pickFrom(REGIONS, this.int(REGIONS.length)) },
    };
  }

  private patchBody(): JsonObject {
    this.step += 1;
    const roll = this.random();

    return {
      amount: this.int(10_000_000) / 100,
      step: this.step,
      note: roll < 0.3 ? null : `n${this.int(1000)}`,
      profile: roll < 0.6 ? { tier: pickFrom(TIERS, this.int(TIERS.length)) } : { region: null },
    };
  }

  private event(): SentEvent {
    if (this.recentEvents.length > 0 && this.random() < 0.05) {
      return pickFrom(this.recentEvents, this.int(this.recentEvents.length)); // a resend: must still be stored once
    }
    this.eventSeq += 1;
    const id = `evt-${this.options.seed}-${this.eventSeq}`;
    const body = { id, kind: pickFrom(EVENT_KINDS, this.int(3)), at: this.eventSeq, value: this.int(1000) };
    this.recentEvents.push({ id, body });
    if (this.recentEvents.length > RECENT_EVENTS_KEPT) this.recentEvents.shift();

    return { id, body };
  }

  next(): Operation {
    const roll = this.random();
    if (roll < 0.38) return { kind: 'put', id: this.docId(), body: this.docBody() };
    if (roll < 0.43) return { kind: 'put', id: this.docId(), body: this.docBody(), conditional: true };
    if (roll < 0.58) return { kind: 'patch', id: this.docId(), body: this.patchBody() };
    if (roll < 0.65) return { kind: 'delete', id: this.docId() };
    if (roll < 0.68) return { kind: 'create', id: this.docId(), body: this.docBody() };
    if (roll < 0.88) return { kind: 'event', ...this.event() };
    if (roll < 0.95) {
      const items = Array.from({ length: 20 + this.int(80) }, (): BulkItem => {
        const r = this.random();
        const id = this.docId();
        if (r < 0.6) return { op: 'put', id, doc: this.docBody() };
        if (r < 0.9) return { op: 'patch', id, doc: this.patchBody() };

        return { op: 'delete', id };
      });

      return { kind: 'bulk-docs', items };
    }

    return { kind: 'bulk-events', events: Array.from({ length: 20 + this.int(180) }, () => this.event()) };
  }
}
