import { IngestException, IngestExceptionCode } from '../ingest.exception';
import { parseJsonBody } from './json-body.parser';

/** The exception `parse` throws for `text`. */
function refusal(text: string | Buffer, contentType?: string): IngestException {
  try {
    parseJsonBody(Buffer.isBuffer(text) ? text : Buffer.from(text), contentType);
  } catch (error) {
    expect(error).toBeInstanceOf(IngestException);

    return error as IngestException;
  }
  throw new Error(`accepted: ${String(text).slice(0, 80)}`);
}

describe(parseJsonBody.name, () => {
  const sut = (text: string, contentType?: string) => parseJsonBody(Buffer.from(text), contentType);

  it('returns the parsed body, emoji and escaped surrogate pairs included', () => {
    expect(sut('{"userId":"u-1","n":[1,2.5,-0.1e3],"e":"😀","p":"\\ud83d\\ude00","d":{"constructor":"c"}}')).toEqual({
      userId: 'u-1',
      n: [1, 2.5, -100],
      e: '😀',
      p: '😀',
      d: { constructor: 'c' },
    });
  });

  it('takes charset=utf-8 in any spelling and skips a byte order mark', () => {
    expect(sut('\ufeff{"a":1}', 'application/json; charset=UTF-8')).toEqual({ a: 1 });
    expect(sut('{"a":1}', 'application/json;charset="utf8"')).toEqual({ a: 1 });
  });

  it('refuses another charset with UNSUPPORTED_CHARSET (415)', () => {
    const error = refusal('{"a":1}', 'application/json; charset=latin1');
    expect(error.code).toBe(IngestExceptionCode.UNSUPPORTED_CHARSET);
    expect(error.message).toMatch(/charset=latin1/);
  });

  it('only parses: what the value holds is left to the body and document rules', () => {
    expect(sut('{"a":{"__proto__":{"x":1}},"s":"\\u0000","n":1e400}')).toEqual(
      JSON.parse('{"a":{"__proto__":{"x":1}},"s":"\\u0000","n":1e400}'),
    );
    expect(sut('[[[[[[[[[[]]]]]]]]]]')).toEqual([[[[[[[[[[]]]]]]]]]]);
  });

  it.each([
    ['truncated', '{"userId": "u-1"', /not valid JSON/],
    ['empty', '', /empty/],
    ['blank', ' \n', /empty/],
    ['trailing garbage', '{"a":1} x', /not valid JSON/],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), /not valid UTF-8/],
    [
      'an overlong UTF-8 encoding',
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0x80, 0x22, 0x7d]),
      /not valid UTF-8/,
    ],
    [
      'a UTF-8 encoded surrogate',
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
      /not valid UTF-8/,
    ],
  ])('refuses a body that is %s with MALFORMED_JSON (400)', (_what, text, detail) => {
    const error = refusal(text);
    expect(error.code).toBe(IngestExceptionCode.MALFORMED_JSON);
    expect(error.message).toMatch(detail);
  });
});
