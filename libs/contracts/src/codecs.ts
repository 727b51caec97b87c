import { ChangeOp, ENTRY_SCHEMA_VERSION, EntryFieldV1, EntryFieldV2 } from './streams';

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

const isChangeOp = (op: string): op is ChangeOp => OPS.has(op);

const HEADER_V3 = `${ENTRY_SCHEMA_VERSION} `;

/** The fields of a change entry in the current layout, as the write scripts append it (includes/appendChange.lua). */
export function encodeEntry(
  op: ChangeOp,
  id: string,
  version: number,
  ingestedAt: number,
  doc: string,
): [string, string] {
  return [[ENTRY_SCHEMA_VERSION, op, id, version, ingestedAt].join(' '), doc];
}

/** Decodes the flat `[field, value, …]` array Redis returns for one entry, of layout version 3, 2 or 1. */
export function decodeEntry(entryId: string, fields: readonly string[]): ChangeEntry {
  const [first, second] = fields;
  if (fields.length === 2 && first !== undefined && second !== undefined && first.startsWith(HEADER_V3)) {
    return fromHeader(entryId, ENTRY_SCHEMA_VERSION, first, second);
  }

  return first === EntryFieldV2.HEADER ? decodeV2(entryId, fields) : decodeV1(entryId, fields);
}

function decodeV2(entryId: string, fields: readonly string[]): ChangeEntry {
  const [, header = '', docField, doc = ''] = fields;
  const hasDoc = fields.length === 4 && docField === EntryFieldV2.DOC;
  if (!(fields.length === 2 || hasDoc)) {
    throw new EntryDecodeError(`malformed entry: header "${header.slice(0, 100)}" with ${fields.length / 2} fields`);
  }

  return fromHeader(entryId, '2', header, hasDoc ? doc : '');
}

/** Reads a header `<layout> <op> <id> <version> <ingested at>` of layout 3 or 2. */
function fromHeader(entryId: string, layout: string, header: string, doc: string): ChangeEntry {
  const parts = header.split(' ');
  if (parts[0] !== layout || parts.length !== 5) {
    throw new EntryDecodeError(`malformed entry: header "${header.slice(0, 100)}"`);
  }
  const [, op = '', id = '', version, ingestedAt] = parts;

  return checked(entryId, op, id, Number(version), Number(ingestedAt), doc);
}

function decodeV1(entryId: string, fields: readonly string[]): ChangeEntry {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    map.set(fields[i] ?? '', fields[i + 1] ?? '');
  }
  const schema = map.get(EntryFieldV1.SCHEMA);
  if (schema !== '1') {
    throw new EntryDecodeError(`unknown entry schema version ${String(schema)}`);
  }

  return checked(
    entryId,
    map.get(EntryFieldV1.OP) ?? '',
    map.get(EntryFieldV1.ID) ?? '',
    Number(map.get(EntryFieldV1.VERSION)),
    Number(map.get(EntryFieldV1.INGESTED_AT)),
    map.get(EntryFieldV1.DOC) ?? '',
  );
}

function checked(
  entryId: string,
  op: string,
  id: string,
  version: number,
  ingestedAt: number,
  doc: string,
): ChangeEntry {
  if (!isChangeOp(op)) {
    throw new EntryDecodeError(`unknown op ${op}`);
  }
  if (!id || !Number.isSafeInteger(version) || version < 1 || !Number.isFinite(ingestedAt)) {
    throw new EntryDecodeError('entry lacks a valid id, version or timestamp');
  }
  if (op !== ChangeOp.DELETE && doc === '') {
    throw new EntryDecodeError('entry lacks a document');
  }

  return { entryId, op, id, version, doc, ingestedAt };
}

/**
 * Orders two stream entry ids (`<ms>-<seq>`): negative when a comes first, 0 when equal, positive after. Each part is
 * an unsigned decimal without leading zeros, so a longer part is a larger number, and parts of one length compare digit
 * by digit: exact for any 64-bit value, and the sink calls it for every entry without allocating.
 */
export function compareEntryIds(a: string, b: string): number {
  const aDash = a.indexOf('-');
  const bDash = b.indexOf('-');

  return compareDigits(a, 0, aDash, b, 0, bDash) || compareDigits(a, aDash + 1, a.length, b, bDash + 1, b.length);
}

function compareDigits(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): number {
  if (aEnd - aStart !== bEnd - bStart) {
    return aEnd - aStart < bEnd - bStart ? -1 : 1;
  }
  for (let i = 0; i < aEnd - aStart; i++) {
    const order = a.charCodeAt(aStart + i) - b.charCodeAt(bStart + i);
    if (order !== 0) {
      return order < 0 ? -1 : 1;
    }
  }

  return 0;
}

/** Milliseconds part of a stream entry id. */
export function entryIdMs(entryId: string): number {
  return Number(entryId.slice(0, entryId.indexOf('-')));
}
