import { MAX_DOCUMENT_DEPTH } from '@app/contracts';
import { IngestException, IngestExceptionCode } from '../ingest.exception';
import { assertFollowsRules, BODY_RULES, DOCUMENT_RULES, type JsonRules, MAX_BODY_DEPTH } from './document-rules';

const nested = (depth: number, leaf = '1'): string =>
  '{"a":'.repeat(depth - 1) + `{"a":${leaf}}` + '}'.repeat(depth - 1);
const arrays = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

describe(assertFollowsRules.name, () => {
  const sut = (text: string, rules: JsonRules) => assertFollowsRules(JSON.parse(text), rules);

  /** The exception `sut` throws for `text`. */
  function refusal(text: string, rules: JsonRules): IngestException {
    try {
      sut(text, rules);
    } catch (error) {
      expect(error).toBeInstanceOf(IngestException);

      return error as IngestException;
    }
    throw new Error(`accepted: ${text.slice(0, 80)}`);
  }

  describe('the body rules', () => {
    it.each([
      ['a __proto__ member', '{"a":{"__proto__":{"x":1}}}', /member name at \/a\/__proto__ is refused/],
      [
        'a constructor.prototype member',
        '{"ops":[{"doc":{"constructor":{"prototype":{"x":1}}}}]}',
        /member name at \/ops\/0\/doc\/constructor is refused/,
      ],
    ])('refuse %s with INVALID_BODY, naming its path', (_what, text, detail) => {
      const error = refusal(text, BODY_RULES);
      expect(error.code).toBe(IngestExceptionCode.INVALID_BODY);
      expect(error.message).toMatch(detail);
    });

    it('take members named constructor that hold no prototype', () => {
      expect(() => sut('{"d":{"constructor":"c"},"e":{"constructor":{"p":1}}}', BODY_RULES)).not.toThrow();
    });

    it('leave content checks to each document, so one bad _bulk item fails alone', () => {
      expect(() => sut('{"ops":[{"op":"put","id":"a","doc":{"s":"\\u0000","n":1e400}}]}', BODY_RULES)).not.toThrow();
    });

    it(`take ${MAX_BODY_DEPTH} levels and refuse ${MAX_BODY_DEPTH + 1}, arrays or objects`, () => {
      expect(() => sut(arrays(MAX_BODY_DEPTH), BODY_RULES)).not.toThrow();
      expect(() => sut(nested(MAX_BODY_DEPTH), BODY_RULES)).not.toThrow();
      expect(refusal(arrays(MAX_BODY_DEPTH + 1), BODY_RULES).message).toMatch(
        new RegExp(`body nests deeper than ${MAX_BODY_DEPTH} levels at /0/0/0`),
      );
      expect(refusal(nested(MAX_BODY_DEPTH + 1), BODY_RULES).message).toMatch(
        /body nests deeper than \d+ levels at \/a\/a\/a/,
      );
    });

    it('refuse the deepest body 1 MiB can hold without exhausting the stack, with a short detail', () => {
      const detail = refusal(arrays(512 * 1024), BODY_RULES).message;
      expect(detail).toMatch(/nests deeper/);
      expect(detail.length).toBeLessThan(400);
    });
  });

  describe('the document rules', () => {
    it(`take a document ${MAX_DOCUMENT_DEPTH} levels deep and refuse ${MAX_DOCUMENT_DEPTH + 1}, naming the path`, () => {
      expect(() => sut(nested(MAX_DOCUMENT_DEPTH), DOCUMENT_RULES)).not.toThrow();
      expect(() => sut(nested(MAX_DOCUMENT_DEPTH + 1), DOCUMENT_RULES)).toThrow(
        new RegExp(`document nests deeper than ${MAX_DOCUMENT_DEPTH} levels at /a/a`),
      );
    });

    it('take emoji, surrogate pairs and the largest finite numbers', () => {
      expect(() => sut('{"e":"😀","p":"\\ud83d\\ude00","😀":[1.7e308,-1.7e308]}', DOCUMENT_RULES)).not.toThrow();
    });

    it.each([
      ['a NUL in a string', '{"userId":"a\\u0000b"}', /string at \/userId contains U\+0000/],
      ['a NUL in a member name', '{"a":{"x\\u0000":1}}', 'member name at /a/x\u0000 contains U+0000'],
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
    ])('refuse %s with INVALID_DOCUMENT, naming its path', (_what, text, detail) => {
      const error = refusal(text, DOCUMENT_RULES);
      expect(error.code).toBe(IngestExceptionCode.INVALID_DOCUMENT);
      expect(error.message).toMatch(detail);
    });

    it('name the first offence in document order, and shorten a long path', () => {
      expect(refusal('{"a":"ok","b":["\\u0000"],"c":1e400}', DOCUMENT_RULES).message).toMatch(/at \/b\/0 contains/);
      const long = 'k'.repeat(300);
      expect(refusal(`{"${long}":"\\u0000"}`, DOCUMENT_RULES).message).toMatch(/at \/k{199}… contains U\+0000/);
    });
  });
});
