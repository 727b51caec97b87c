import { compareEntryIds, decodeEntry, encodeEntry, EntryDecodeError } from './codecs';
import { ChangeOp } from './streams';

/** The stream entry codec the sink reads every change with. */
describe('decodeEntry', () => {
  it('reads a put', () => {
    expect(decodeEntry('1-0', ['3 put doc-1 7 1700000000123', '{"a":1}'])).toEqual({
      entryId: '1-0',
      op: ChangeOp.PUT,
      id: 'doc-1',
      version: 7,
      doc: '{"a":1}',
      ingestedAt: 1700000000123,
    });
  });

  it('reads a delete, which carries no document, and an event', () => {
    expect(decodeEntry('2-0', ['3 del d 3 5', ''])).toMatchObject({
      op: ChangeOp.DELETE,
      id: 'd',
      version: 3,
      doc: '',
    });
    expect(decodeEntry('2-1', ['3 evt e 1 5', '{}'])).toMatchObject({ op: ChangeOp.EVENT, doc: '{}' });
  });

  it('reads back what encodeEntry lays out', () => {
    const change = { op: ChangeOp.PUT, id: 'doc-1', version: 7, ingestedAt: 1700000000123, doc: '{"a":1}' };

    expect(
      decodeEntry('1-0', encodeEntry(change.op, change.id, change.version, change.ingestedAt, change.doc)),
    ).toEqual({
      entryId: '1-0',
      ...change,
    });
  });

  it('reads version 2 and version 1 entries (fields in any order), so a backlog from before an upgrade drains', () => {
    const current = decodeEntry('1-0', ['3 put doc-1 7 1700000000123', '{"a":1}']);

    expect(decodeEntry('1-0', ['h', '2 put doc-1 7 1700000000123', 'd', '{"a":1}'])).toEqual(current);
    expect(
      decodeEntry('1-0', ['ts', '1700000000123', 'd', '{"a":1}', 'v', '7', 'id', 'doc-1', 'op', 'put', 'sv', '1']),
    ).toEqual(current);
    expect(decodeEntry('2-0', ['h', '2 del d 3 5'])).toMatchObject({
      op: ChangeOp.DELETE,
      id: 'd',
      version: 3,
      doc: '',
    });
    expect(decodeEntry('2-0', ['sv', '1', 'op', 'del', 'id', 'd', 'v', '3', 'ts', '5'])).toMatchObject({
      op: ChangeOp.DELETE,
      doc: '',
    });
  });

  it.each([
    [['3 put d 1', '{}'], /malformed entry: header "3 put d 1"/],
    [['3 put d 1 5 6', '{}'], /malformed entry/],
    [['3 upsert d 1 5', '{}'], /unknown op upsert/],
    [['3 put d 0 5', '{}'], /valid id, version or timestamp/],
    [['3 put d 1 soon', '{}'], /valid id, version or timestamp/],
    [['3 put d 1 5', ''], /lacks a document/],
    [['h', '3 put d 1 5', 'd', '{}'], /malformed entry: header "3 put d 1 5"/],
    [['h', '2 put d 1', 'd', '{}'], /malformed entry/],
    [['h', '2 put d 1 5', 'x', '{}'], /malformed entry/],
    [['h', '2 put d 1 5', 'd', '{}', 'd', '{}'], /malformed entry/],
    [['h', '2 upsert d 1 5', 'd', '{}'], /unknown op upsert/],
    [['h', '2 put d 0 5', 'd', '{}'], /valid id, version or timestamp/],
    [['h', '2 put d 1 soon', 'd', '{}'], /valid id, version or timestamp/],
    [['h', '2 put d 1 5'], /lacks a document/],
    [['op', 'put', 'id', 'd', 'v', '1', 'd', '{}', 'ts', '5'], /schema version undefined/],
    [['sv', '2', 'op', 'put', 'id', 'd', 'v', '1', 'd', '{}', 'ts', '5'], /schema version 2/],
    [['sv', '1', 'op', 'upsert', 'id', 'd', 'v', '1', 'd', '{}', 'ts', '5'], /unknown op upsert/],
    [['sv', '1', 'op', 'put', 'v', '1', 'd', '{}', 'ts', '5'], /valid id, version or timestamp/],
    [['sv', '1', 'op', 'put', 'id', 'd', 'v', '1', 'ts', '5'], /lacks a document/],
  ])('refuses %j', (fields, message) => {
    expect(() => decodeEntry('3-0', fields)).toThrow(EntryDecodeError);
    expect(() => decodeEntry('3-0', fields)).toThrow(message);
  });
});

describe('compareEntryIds', () => {
  it('orders by milliseconds, then by sequence, as numbers', () => {
    expect(compareEntryIds('10-0', '9-5')).toBe(1);
    expect(compareEntryIds('9-10', '9-9')).toBe(1);
    expect(compareEntryIds('9-1', '9-1')).toBe(0);
    expect(compareEntryIds('1795381072453-0', '1795381072453-1')).toBe(-1);
    expect(compareEntryIds('99-7', '100-0')).toBe(-1);
    expect(compareEntryIds('5-18446744073709551615', '5-18446744073709551614')).toBe(1); // beyond 2^53: exact
  });
});
