import { IngestException, IngestExceptionCode } from '../ingest.exception';

/** Parses `If-Match: "<version>"` (quotes optional); undefined when absent. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header === '') {
    return undefined;
  }
  const version = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header)?.[1];
  if (version === undefined) {
    throw new IngestException(IngestExceptionCode.INVALID_IF_MATCH, 'If-Match must be a quoted version, e.g. "3"');
  }

  return Number(version);
}
