import { IngestException, IngestExceptionCode } from '../ingest.exception';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `charset` of a Content-Type, lower case, if given. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? '');

  return match?.[1]?.toLowerCase();
}

/**
 * Reads an `application/json` request body: UTF-8 only (RFC 8259 section 8.1: invalid bytes would otherwise be
 * replaced by U+FFFD and stored changed), then JSON. What the value may hold is left to the rules of
 * documents/document-rules.ts. Throws UNSUPPORTED_CHARSET (415) for another charset, MALFORMED_JSON (400) for the rest.
 */
export function parseJsonBody(raw: Buffer, contentType?: string): unknown {
  const charset = charsetOf(contentType);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new IngestException(
      IngestExceptionCode.UNSUPPORTED_CHARSET,
      `JSON bodies must be UTF-8, not charset=${charset.slice(0, 40)}`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new IngestException(IngestExceptionCode.MALFORMED_JSON, 'the body is not valid UTF-8');
  }
  if (text.trim() === '') {
    throw new IngestException(IngestExceptionCode.MALFORMED_JSON, 'the body is empty; send a JSON object');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // V8 quotes the input in its message; only the position is worth passing on.
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    throw new IngestException(
      IngestExceptionCode.MALFORMED_JSON,
      `the body is not valid JSON${position === undefined ? '' : ` (at character ${position})`}`,
    );
  }
}
