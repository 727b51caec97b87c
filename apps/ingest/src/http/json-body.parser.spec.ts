import { BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';
import { assertStorableDocument, MAX_BODY_DEPTH, MAX_DOCUMENT_DEPTH, parseJsonBody } from './json-body.parser';

const nested = (depth: number, leaf = '1'): string =>
  '{"a":'.repeat(depth - 1) + `{"a":${leaf}}` + '}'.repeat(depth - 1);
const arrays = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

/** The 400 detail `parse` throws for `text`. */
function refusal(text: string | Buffer, contentType?: string): string {
  try {
    parseJsonBody(Buffer.isBuffer(text) ? text : Buffer.from(text), contentType);
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);

    return (error as BadRequestException).message;
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

  it('refuses another charset with 415', () => {
    expect(() => sut('{"a":1}', 'application/json; charset=latin1')).toThrow(UnsupportedMediaTypeException);
  });

  it.each([
    ['a __proto__ member', '{"a":{"__proto__":{"x":1}}}', /member name at \/a\/__proto__ is refused/],
    [
      'a constructor.prototype member',
      '{"ops":[{"doc":{"constructor":{"prototype":{"x":1}}}}]}',
      /member name at \/ops\/0\/doc\/constructor is refused/,
    ],
  ])('refuses %s, naming its path', (_what, text, detail) => {
    expect(refusal(text)).toMatch(detail);
  });

  it('leaves content checks to each document, so one bad _bulk item fails alone', () => {
    expect(sut('{"ops":[{"op":"put","id":"a","doc":{"s":"\\u0000","n":1e400}}]}')).toEqual({
      ops: [{ op: 'put', id: 'a', doc: { s: '\u0000', n: Number.POSITIVE_INFINITY } }],
    });
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
  ])('refuses a body that is %s', (_what, text, detail) => {
    expect(refusal(text)).toMatch(detail);
  });

  it(`takes ${MAX_BODY_DEPTH} levels and refuses ${MAX_BODY_DEPTH + 1}, arrays or objects`, () => {
    expect(() => sut(arrays(MAX_BODY_DEPTH))).not.toThrow();
    expect(() => sut(nested(MAX_BODY_DEPTH))).not.toThrow();
    expect(refusal(arrays(MAX_BODY_DEPTH + 1))).toMatch(
      new RegExp(`body nests deeper than ${MAX_BODY_DEPTH} levels at /0/0/0`),
    );
    expect(refusal(nested(MAX_BODY_DEPTH + 1))).toMatch(/body nests deeper than \d+ levels at \/a\/a\/a/);
  });

  it('refuses the deepest body 1 MiB can hold without exhausting the stack, with a short detail', () => {
    const detail = refusal(arrays(512 * 1024));
    expect(detail).toMatch(/nests deeper/);
    expect(detail.length).toBeLessThan(400);
  });
});

describe(assertStorableDocument.name, () => {
  const sut = (doc: unknown) => assertStorableDocument(doc);

  it(`takes a document ${MAX_DOCUMENT_DEPTH} levels deep and refuses ${MAX_DOCUMENT_DEPTH + 1}, naming the path`, () => {
    expect(() => sut(JSON.parse(nested(MAX_DOCUMENT_DEPTH)))).not.toThrow();
    expect(() => sut(JSON.parse(nested(MAX_DOCUMENT_DEPTH + 1)))).toThrow(
      new RegExp(`document nests deeper than ${MAX_DOCUMENT_DEPTH} levels at /a/a`),
    );
  });

  it.each([
    ['a NUL in a string', '{"userId":"a\\u0000b"}', /string at \/userId contains U\+0000/],
    ['a NUL in a member name', '{"a":{"x\\u0000":1}}', /member name at \/a\/x\u0000 contains U\+0000/],
    ['a NUL deep in an array', '{"a":[1,{"b":["ok","\\u0000"]}]}', /at \/a\/1\/b\/1 contains U\+0000/],
    ['a lone high surrogate', '{"a":"x\\ud800"}', /string at \/a contains an unpaired UTF-16 surrogate/],
    ['a lone low surrogate', '{"a":"\\udc00x"}', /string at \/a contains an unpaired UTF-16 surrogate/],
    ['reversed surrogates', '{"a":"\\udc00\\ud800"}', /unpaired UTF-16 surrogate/],
    ['a lone surrogate in a member name', '{"\\ud800":1}', /member name at \/\ud800 contains an unpaired/],
    ['a number JSON.parse makes Infinity', '{"amount":1e400}', /number at \/amount is beyond/],
    ['a number JSON.parse makes -Infinity', '{"a":[-1e309]}', /number at \/a\/0 is beyond/],
    ['a __proto__ member', '{"a":{"__proto__":{"x":1}}}', /member name at \/a\/__proto__ is refused/],
    [
      'a constructor.prototype member',
      '{"constructor":{"prototype":{"x":1}}}',
      /member name at \/constructor is refused/,
    ],
    ['JSON Pointer escapes in the path', '{"a/b":{"c~d":"\\u0000"}}', /at \/a~1b\/c~0d contains/],
  ])('refuses %s, naming its path', (_what, text, detail) => {
    expect(() => sut(JSON.parse(text))).toThrow(detail);
  });
});
