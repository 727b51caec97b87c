// The collections a fuzz stack runs with, and the ingest limits the hostile requests aim at.
import { Env } from '@app/config';
import type { CollectionSpec } from '../local-stack';

export const DOCS = 'fz_docs';
export const EVENTS = 'fz_events';
export const HOSTILE = 'fz_hostile';

const DOCUMENT_SCHEMA = {
  type: 'object',
  required: ['userId'],
  properties: { userId: { type: 'string' }, status: { enum: ['active', 'idle', 'closed'] } },
};

/** The collection files the fuzz stack runs with. */
export const COLLECTIONS: CollectionSpec[] = [
  { name: DOCS, kind: 'document', schema: DOCUMENT_SCHEMA },
  { name: EVENTS, kind: 'event', schema: { type: 'object', required: ['sessionId', 'screen'] } },
  // Same schema as fz_docs, so any body refused there is refused here too.
  { name: HOSTILE, kind: 'document', schema: DOCUMENT_SCHEMA },
];

/** Largest body ingest takes: the default of INGEST_MAX_BODY, which the fuzz stack leaves unset. */
export const MAX_BODY = new Env().INGEST_MAX_BODY;
export { MAX_DOCUMENT_DEPTH } from '@app/contracts';
