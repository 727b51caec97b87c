import { parseApiKeys } from './api-keys';

describe(parseApiKeys.name, () => {
  it('grants nothing when unset, so /v1 stays open', () => {
    expect(parseApiKeys(undefined)).toEqual({ grants: [], problems: [] });
  });

  it('reads bare keys as read-write on every collection, as before scopes', () => {
    expect(parseApiKeys('k1,k2').grants).toEqual([
      { key: 'k1', readOnly: false },
      { key: 'k2', readOnly: false },
    ]);
  });

  it('reads scopes: collections joined by +, * for all, ro or rw (rw by default)', () => {
    const sut = parseApiKeys('a:orders+sessions:ro, b:*:ro,c:clicks,d:*:rw');

    expect(sut).toEqual({
      grants: [
        { key: 'a', collections: ['orders', 'sessions'], readOnly: true },
        { key: 'b', readOnly: true },
        { key: 'c', collections: ['clicks'], readOnly: false },
        { key: 'd', readOnly: false },
      ],
      problems: [],
    });
  });

  it('takes one entry a line, as a keys file has them, leaving out blank lines and # comments', () => {
    const file = '# reporting: orders, read only\nr3p0rt:orders:ro\r\n\n  # loader\nl0ad3r\n';

    expect(parseApiKeys(file).grants).toEqual([
      { key: 'r3p0rt', collections: ['orders'], readOnly: true },
      { key: 'l0ad3r', readOnly: false },
    ]);
  });

  it.each([
    ['s3cret:orders:rx', 'INGEST_API_KEYS entry 1 has an access other than rw or ro'],
    ['ok,s3cret:Orders', 'INGEST_API_KEYS entry 2 names "Orders", which is not * or a collection name'],
    ['s3cret:orders:ro:x', 'INGEST_API_KEYS entry 1 has more than key:collections:access'],
    ['s3cret:', 'INGEST_API_KEYS entry 1 names "", which is not * or a collection name'],
    [':orders', 'INGEST_API_KEYS entry 1 has a key that is empty or holds a character other than visible ASCII'],
    ['s3cr\u00e9t', 'INGEST_API_KEYS entry 1 has a key that is empty or holds a character other than visible ASCII'],
    ['s3cret,s3cret:orders', 'INGEST_API_KEYS entry 2 repeats the key of entry 1'],
    ['# s3cret', 'INGEST_API_KEYS holds no key (unset it to turn authentication off)'],
  ])('refuses %j with one message that does not show the key', (value, problem) => {
    const { problems } = parseApiKeys(value);

    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(problem);
    expect(problems[0]).not.toMatch(/s3cr/);
  });
});
