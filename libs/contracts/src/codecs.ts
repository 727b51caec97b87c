import { ChangeOp, ENTRY_SCHEMA_VERSION, EntryField } from './streams';

/** A change as the sink reads it from a stream entry. */
export interface ChangeEntry {
  /** The stream entry id, e.g. `1700000000000-0`. */
  readonly entryId: string;
  readonly op: ChangeOp;
  readonly id: string;
  readonly version: number;
  /** The document or event JSON text; empty for deletes. */
  readonly doc: string;
  readonly ingestedAt: number;
}

export class EntryDecodeError extends Error {}

const OPS = new Set<string>(Object.values(ChangeOp));

/** Decodes the flat `[field, value, …]` array Redis returns for one entry. */
export function decodeEntry(entryId: string, fields: readonly string[]): ChangeEntry {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    map.set(fields[i], fields[i + 1]);
  }
  const schema = map.get(EntryField.SCHEMA);
  if (schema !== ENTRY_SCHEMA_VERSION) {
    throw new EntryDecodeError(`unknown entry schema version ${String(schema)}`);
  }
  const op = map.get(EntryField.OP) ?? '';
  if (!OPS.has(op)) {
    throw new EntryDecodeError(`unknown op ${op}`);
  }
  const id = map.get(EntryField.ID);
  const version = Number(map.get(EntryField.VERSION));
  const ingestedAt = Number(map.get(EntryField.INGESTED_AT));
  if (!id || !Number.isSafeInteger(version) || version < 1 || !Number.isFinite(ingestedAt)) {
    throw new EntryDecodeError('entry lacks a valid id, version or timestamp');
  }
  const doc = map.get(EntryField.DOC) ?? '';
  if (op !== ChangeOp.DELETE && doc === '') {
    throw new EntryDecodeError('entry lacks a document');
  }

  return { entryId, op: op as ChangeOp, id, version, doc, ingestedAt };
}

/** Orders two stream entry ids (`<ms>-<seq>`): negative when a comes first, 0 when equal, positive after. */
export function compareEntryIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  const order = am === bm ? as - bs : am - bm;

  return order < 0n ? -1 : order > 0n ? 1 : 0;
}

/** Milliseconds part of a stream entry id. */
export function entryIdMs(entryId: string): number {
  return Number(entryId.slice(0, entryId.indexOf('-')));
}
