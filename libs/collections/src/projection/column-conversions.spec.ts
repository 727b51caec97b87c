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
});
