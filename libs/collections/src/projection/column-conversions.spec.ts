import type { ColumnType } from '../outputs';
import { COLUMN_CONVERTERS, ConversionRefusal } from './column-conversions';

const convert = (type: ColumnType, value: unknown) => COLUMN_CONVERTERS[type](value);

describe('COLUMN_CONVERTERS', () => {
  it.each<[ColumnType, unknown, unknown]>([
    ['text', 'abc', 'abc'],
    ['text', '', ''],
    ['text', 12.5, '12.5'],
    ['text', true, 'true'],
    ['integer', 42, 42],
    ['integer', -2147483648, -2147483648],
    ['integer', 2147483647, 2147483647],
    ['integer', '42', 42],
    ['integer', '-0042', -42],
    ['integer', '+7', 7],
    ['integer', 5.0, 5],
    ['bigint', 9007199254740991, '9007199254740991'],
    ['bigint', -3, '-3'],
    ['bigint', '9223372036854775807', '9223372036854775807'],
    ['bigint', '-9223372036854775808', '-9223372036854775808'],
    ['bigint', '+0012', '12'],
    ['numeric', 12.5, '12.5'],
    ['numeric', 1e21, '1e+21'],
    ['numeric', '123456789012345678901234567890.123456789', '123456789012345678901234567890.123456789'],
    ['numeric', '-.5', '-.5'],
    ['numeric', '1.5E-7', '1.5E-7'],
    ['double', 1.5, 1.5],
    ['double', -1e300, -1e300],
    ['double', 3, 3],
    ['boolean', true, true],
    ['boolean', false, false],
    ['boolean', 'true', true],
    ['boolean', 'false', false],
    ['timestamptz', '2024-05-01T10:20:30Z', '2024-05-01T10:20:30Z'],
    ['timestamptz', '2024-05-01T10:20:30.123456+02:00', '2024-05-01T10:20:30.123456+02:00'],
    ['timestamptz', '2024-02-29 23:59:60-15:59', '2024-02-29 23:59:60-15:59'],
    ['timestamptz', 1700000000000, '2023-11-14T22:13:20.000Z'],
    ['timestamptz', 0, '1970-01-01T00:00:00.000Z'],
    ['timestamptz', -62135596800000, '0001-01-01T00:00:00.000Z'],
    ['date', '2024-02-29', '2024-02-29'],
    ['date', '2024-05-01T23:30:00-05:00', '2024-05-01'],
    ['uuid', '0190C5F2-7C1E-7A3B-9F00-ABCDEF012345', '0190c5f2-7c1e-7a3b-9f00-abcdef012345'],
    ['jsonb', { a: [1, 'x'] }, '{"a":[1,"x"]}'],
    ['jsonb', 'text', '"text"'],
    ['jsonb', 1.5, '1.5'],
    ['jsonb', false, 'false'],
  ])('%s takes %j as %j', (type, value, expected) => {
    expect(convert(type, value)).toEqual(expected);
  });

  it.each<[ColumnType, unknown, string]>([
    ['text', { a: 1 }, 'cannot convert an object (use jsonb for objects and arrays)'],
    ['text', [1], 'cannot convert an array (use jsonb for objects and arrays)'],
    ['integer', 'abc', 'cannot convert a string (not an integer)'],
    ['integer', '1.5', 'cannot convert a string (not an integer)'],
    ['integer', ' 1', 'cannot convert a string (not an integer)'],
    ['integer', 1.5, 'cannot convert a number (not an integer)'],
    ['integer', 2147483648, 'cannot convert a number (out of range for integer)'],
    ['integer', '-2147483649', 'cannot convert a string (out of range for integer)'],
    ['integer', true, 'cannot convert a boolean'],
    ['integer', {}, 'cannot convert an object'],
    ['bigint', 9007199254740992, 'cannot convert a number (beyond 2^53, send it as a string to keep its digits)'],
    ['bigint', 1.5, 'cannot convert a number (not an integer)'],
    ['bigint', '9223372036854775808', 'cannot convert a string (out of range for bigint)'],
    ['bigint', '1e3', 'cannot convert a string (not an integer)'],
    ['bigint', [1], 'cannot convert an array'],
    ['numeric', 'abc', 'cannot convert a string (not a decimal number)'],
    ['numeric', 'NaN', 'cannot convert a string (not a decimal number)'],
    ['numeric', '1e1001', 'cannot convert a string (exponent beyond ±1000)'],
    ['numeric', Infinity, 'cannot convert a number (not finite)'],
    ['numeric', false, 'cannot convert a boolean'],
    ['double', JSON.parse('1e400'), 'cannot convert a number (out of range for double)'],
    ['double', '1.5', 'cannot convert a string'],
    ['boolean', 'yes', 'cannot convert a string (not "true" or "false")'],
    ['boolean', 1, 'cannot convert a number'],
    ['timestamptz', '2024-05-01', 'cannot convert a string (not an RFC 3339 date-time with an offset)'],
    ['timestamptz', '2024-05-01T10:20:30', 'cannot convert a string (not an RFC 3339 date-time with an offset)'],
    ['timestamptz', '2023-02-29T10:20:30Z', 'cannot convert a string (not an RFC 3339 date-time with an offset)'],
    ['timestamptz', '2024-05-01T24:00:00Z', 'cannot convert a string (not an RFC 3339 date-time with an offset)'],
    ['timestamptz', '2024-05-01T10:20:30+16:00', 'cannot convert a string (not an RFC 3339 date-time with an offset)'],
    ['timestamptz', '0000-05-01T10:20:30Z', 'cannot convert a string (not an RFC 3339 date-time with an offset)'],
    ['timestamptz', 'yesterday', 'cannot convert a string (not an RFC 3339 date-time with an offset)'],
    ['timestamptz', 1.5, 'cannot convert a number (not a whole number of milliseconds since the epoch)'],
    ['timestamptz', 1e17, 'cannot convert a number (outside the years 1 to 9999)'],
    ['timestamptz', true, 'cannot convert a boolean'],
    ['date', '2024-13-01', 'cannot convert a string (not a valid date)'],
    ['date', '2100-02-29', 'cannot convert a string (not a valid date)'],
    ['date', '01/05/2024', 'cannot convert a string (not a YYYY-MM-DD date or an RFC 3339 date-time)'],
    ['date', 1700000000000, 'cannot convert a number'],
    ['uuid', '0190c5f27c1e7a3b9f00abcdef012345', 'cannot convert a string (not a UUID in its 8-4-4-4-12 form)'],
    ['uuid', '{0190c5f2-7c1e-7a3b-9f00-abcdef012345}', 'cannot convert a string (not a UUID in its 8-4-4-4-12 form)'],
    ['uuid', 12, 'cannot convert a number'],
  ])('%s refuses %j: %s', (type, value, reason) => {
    expect(convert(type, value)).toEqual(new ConversionRefusal(reason));
  });

  it('never names the value in a refusal', () => {
    const secret = 'SECRET-1234';

    for (const type of Object.keys(COLUMN_CONVERTERS) as ColumnType[]) {
      const result = convert(type, { secret });
      if (result instanceof ConversionRefusal) expect(result.reason).not.toContain(secret);
    }
    expect((convert('integer', secret) as ConversionRefusal).reason).not.toContain(secret);
  });
  it('takes exactly the date-times the RFC 3339 expression with offset limits takes', () => {
    // The reference: what the converter matched with a regular expression before it read by position.
    const pattern = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;
    const takes = (text: string): boolean => {
      const m = pattern.exec(text);
      if (!m) return false;
      const n = (group: number) => Number(m[group]);
      const [year, month, day] = [n(1), n(2), n(3)];
      const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
      const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
      const dateValid = year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= days;
      const offsetValid = m[9] === undefined || (n(9) <= 15 && n(10) <= 59);

      return dateValid && n(4) <= 23 && n(5) <= 59 && n(6) <= 60 && offsetValid;
    };
    const bases = [
      '2024-02-29T23:59:60.123456789+15:59',
      '2023-12-31t00:00:00z',
      '0001-01-01 00:00:00-00:00',
      '9999-12-31T23:59:59.5Z',
    ];
    const replacements = ['', '0', '9', '1', '-', ':', '.', 'T', ' ', 'Z', '+', 'x', '٣', '00', '.1234567890'];
    const texts = new Set<string>(bases);
    for (const base of bases) {
      for (let i = 0; i <= base.length; i++) {
        for (const r of replacements) {
          texts.add(base.slice(0, i) + r + base.slice(i + 1));
          texts.add(base.slice(0, i) + r + base.slice(i));
        }
      }
    }
    for (const text of texts) {
      expect([text, !(convert('timestamptz', text) instanceof ConversionRefusal)]).toEqual([text, takes(text)]);
    }
  });
});
