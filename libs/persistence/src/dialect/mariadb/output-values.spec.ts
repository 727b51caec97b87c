import { ownerValue, utcDatetime, valueWriters } from './output-values';

describe(utcDatetime.name, () => {
  it.each([
    ['2024-05-01T10:20:30.5+02:00', '2024-05-01 08:20:30.500000'],
    ['2024-05-01t10:20:30Z', '2024-05-01 10:20:30.000000'],
    ['2024-05-01 10:20:30.123456789-15:59', '2024-05-02 02:19:30.123457'],
    ['1999-12-31T23:30:00.000001-05:30', '2000-01-01 05:00:00.000001'],
    ['0001-01-01T00:00:00Z', '0001-01-01 00:00:00.000000'],
    ['0050-06-15T12:00:00+00:00', '0050-06-15 12:00:00.000000'],
    ['9999-12-31T23:59:59.999999Z', '9999-12-31 23:59:59.999999'],
    ['1970-01-01T00:00:00.000Z', '1970-01-01 00:00:00.000000'],
  ])('writes %s as %s in UTC', (text, expected) => {
    expect(utcDatetime(text)).toBe(expected);
  });

  it('rolls a leap second, and a fraction rounded up to a whole second, into what follows, as PostgreSQL does', () => {
    expect(utcDatetime('2016-12-31T23:59:60Z')).toBe('2017-01-01 00:00:00.000000');
    expect(utcDatetime('2016-12-31T23:59:59.9999996Z')).toBe('2017-01-01 00:00:00.000000');
  });

  it('rounds a fraction to the microsecond half to even', () => {
    expect(utcDatetime('2024-01-01T00:00:00.0000005Z')).toBe('2024-01-01 00:00:00.000000');
    expect(utcDatetime('2024-01-01T00:00:00.0000015Z')).toBe('2024-01-01 00:00:00.000002');
  });

  it('leaves a text that is no RFC 3339 date-time for the server to refuse', () => {
    expect(utcDatetime('yesterday')).toBe('yesterday');
  });
});

describe(valueWriters.name, () => {
  it('writes a boolean as 1 or 0, a JSON null as NULL, a timestamptz in UTC, and the rest as it is', () => {
    const sut = valueWriters(['boolean', 'boolean', 'jsonb', 'jsonb', 'timestamptz', 'bigint', 'text']);
    const row = [true, false, 'null', '[null]', '2024-05-01T10:20:30+02:00', '9223372036854775807', 'null'];

    expect(sut.map((write, i) => write(row[i] ?? null))).toEqual([
      1,
      0,
      null,
      '[null]',
      '2024-05-01 08:20:30.000000',
      '9223372036854775807',
      'null',
    ]);
    expect(sut.map((write) => write(null))).toEqual(sut.map(() => null));
  });
});

describe(ownerValue.name, () => {
  it('writes a uuid as the char(36) holds it', () => {
    expect(ownerValue('uuid', 'A0EEBC999C0B4EF8BB6D6BB9BD380A11')).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    expect(ownerValue('uuid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
  });

  it('drops a numeric that decimal(65,30) cannot hold', () => {
    expect(ownerValue('numeric', '99999999999999999999999999999999999.5')).toBe(
      '99999999999999999999999999999999999.5',
    );
    expect(ownerValue('numeric', '0.00001e39')).toBe('0.00001e39');
    expect(ownerValue('numeric', '1e35')).toBeUndefined();
    expect(ownerValue('numeric', '-000123456789012345678901234567890123456')).toBeUndefined();
    expect(ownerValue('numeric', '1e-400')).toBe('1e-400');
  });

  it('keeps the other types as they are', () => {
    expect(ownerValue('integer', '007')).toBe('007');
    expect(ownerValue('text', 'Abc ')).toBe('Abc ');
  });
});
