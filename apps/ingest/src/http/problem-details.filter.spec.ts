import { IngestException, IngestExceptionCode } from '../ingest.exception';
import { problemBody, problemOf } from './problem-details.filter';

describe(problemOf.name, () => {
  const sut = (code: IngestExceptionCode, detail = 'why') => problemOf(new IngestException(code, detail));

  it.each([
    [IngestExceptionCode.UNAUTHORIZED, 401, 'Unauthorized'],
    [IngestExceptionCode.FORBIDDEN, 403, 'Forbidden'],
    [IngestExceptionCode.UNKNOWN_COLLECTION, 404, 'Not Found'],
    [IngestExceptionCode.WRONG_COLLECTION_KIND, 405, 'Method Not Allowed'],
    [IngestExceptionCode.UNSUPPORTED_CHARSET, 415, 'Unsupported Media Type'],
    [IngestExceptionCode.MALFORMED_JSON, 400, 'Bad Request'],
    [IngestExceptionCode.INVALID_DOCUMENT, 400, 'Bad Request'],
    [IngestExceptionCode.NOT_FOUND, 404, 'Not Found'],
    [IngestExceptionCode.ALREADY_EXISTS, 409, 'Conflict'],
    [IngestExceptionCode.VERSION_MISMATCH, 412, 'Precondition Failed'],
    [IngestExceptionCode.DATABASE_UNAVAILABLE, 503, 'Service Unavailable'],
    [IngestExceptionCode.BULK_UNAVAILABLE, 503, 'Service Unavailable'],
  ])('answers %s with %i %s, the message as detail, and no headers', (code, status, title) => {
    expect(sut(code)).toEqual({ status, title, detail: 'why', headers: undefined, extensions: undefined });
  });

  it.each([
    [IngestExceptionCode.BACKLOG_FULL, 429],
    [IngestExceptionCode.REDIS_UNAVAILABLE, 503],
  ])('answers %s with %i and Retry-After: 1', (code, status) => {
    expect(sut(code)).toMatchObject({ status, headers: { 'Retry-After': '1' }, extensions: undefined });
  });

  it('answers OUTCOME_UNKNOWN with 503, Retry-After: 1 and the "outcome": "unknown" member', () => {
    expect(sut(IngestExceptionCode.OUTCOME_UNKNOWN)).toMatchObject({
      status: 503,
      headers: { 'Retry-After': '1' },
      extensions: { outcome: 'unknown' },
    });
  });
});

describe(problemBody.name, () => {
  it('is the RFC 9457 body of a status and detail', () => {
    expect(problemBody(412, 'stale')).toEqual({
      type: 'https://spillway.dev/problems/412',
      title: 'Precondition Failed',
      status: 412,
      detail: 'stale',
    });
  });
});
