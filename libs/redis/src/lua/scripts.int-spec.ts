import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { expectEventually } from '../../../../test/utils/expect-eventually';
import { testServers } from '../../../../test/utils/servers';
import { openRedis } from '../redis.connection';
import { appendEventsArgs, type ScriptChange, ScriptErrorCode, writeDocumentsArgs } from '../redis.scripts';

/** Each Lua script against a real Redis. Real: Redis. Mocked: nothing. */
describe('Lua scripts', () => {
  let redis: Redis;
  let doc: string;
  let stream: string;

  beforeAll(() => {
    redis = openRedis(testServers().redisUrl);
  });

  afterAll(() => redis.quit());

  beforeEach(() => {
    const tag = `{test-${randomUUID()}}`;
    doc = `${tag}:doc`;
    stream = `${tag}:stream`;
  });

  afterEach(() => redis.del(doc, stream));

  const NOW = 100_000;
  const change = (op: 'put' | 'del', json: string, expected = '', floor = `0:0:${NOW}`): ScriptChange => ({
    documentKey: doc,
    op,
    id: 'd1',
    doc: json,
    expectedVersion: expected,
    floor,
    createOnly: '0',
  });
  const writeOne = async (c: ScriptChange) =>
    (await redis.writeDocuments(...writeDocumentsArgs(stream, NOW, 0, [c])))[0];
  const put = (json: string, expected = '', floor = `0:0:${NOW}`, createOnly: '0' | '1' = '0') =>
    writeOne({ ...change('put', json, expected, floor), createOnly });
  const del = (expected = '', floor = `0:0:${NOW}`) => writeOne(change('del', '', expected, floor));

  describe('writeDocuments', () => {
    it('stores the document and appends its change entry in one step, versions counting up', async () => {
      expect(await put('{"a":1}')).toBe(1);
      expect(await put('{"a":2}')).toBe(2);

      expect(await redis.hgetall(doc)).toEqual({ v: '2', d: '{"a":2}', x: '0' });
      const entries = await redis.xrange(stream, '-', '+');
      expect(entries.map(([, f]) => f)).toEqual([
        ['3 put d1 1 100000', '{"a":1}'],
        ['3 put d1 2 100000', '{"a":2}'],
      ]);
    });

    it('asks for the version floor when Redis holds nothing for the id, and writes nothing', async () => {
      expect(await put('{"a":1}', '', '')).toBe(ScriptErrorCode.NEED_FLOOR);
      expect(await redis.exists(doc, stream)).toBe(0);
    });

    it('continues above the floor PostgreSQL reports', async () => {
      expect(await put('{"a":1}', '', `7:1:${NOW}`)).toBe(8);
      expect(await del('', `9:0:${NOW}`)).toBe(9); // the hash exists now: the floor is ignored
    });

    it('asks again for a floor read more than 10 s ago, which may predate a write whose hash is gone', async () => {
      expect(await put('{"a":1}', '', `7:1:${NOW - 10_001}`)).toBe(ScriptErrorCode.NEED_FLOOR);
      expect(await redis.exists(doc, stream)).toBe(0);
      expect(await put('{"a":1}', '', `7:1:${NOW - 10_000}`)).toBe(8);
    });

    it('keeps a deleted document as a tombstone, so the next write continues its versions', async () => {
      await put('{"a":1}');
      expect(await del()).toBe(2);
      expect(await redis.hgetall(doc)).toEqual({ v: '2', x: '1' });
      expect(await del()).toBe(ScriptErrorCode.NOT_FOUND);
      expect(await put('{"a":3}')).toBe(3);
      const entries = await redis.xrange(stream, '-', '+');
      expect(entries.map(([, f]) => f)[1]).toEqual(['3 del d1 2 100000', '']); // a delete's entry carries no document
    });

    it('refuses a stale expected version and a create of a live document, changing nothing', async () => {
      await put('{"a":1}');
      expect(await put('{"a":2}', '5')).toBe(ScriptErrorCode.VERSION_MISMATCH);
      expect(await put('{"a":2}', '', `0:0:${NOW}`, '1')).toBe(ScriptErrorCode.ALREADY_EXISTS);
      expect(await redis.xlen(stream)).toBe(1);
      expect(await put('{"a":2}', '1')).toBe(2);
    });

    it('applies several changes in order, each seeing the ones before it; a refused one does not stop the rest', async () => {
      const other = doc.replace(':doc', ':doc2');
      const changes = [
        change('put', '{"a":1}'),
        { ...change('put', '{"b":1}'), documentKey: other, id: 'd2' },
        change('put', '{"a":2}', '1'),
        change('put', '{"a":3}', '1'), // d1 is at 2 by now
        change('del', ''),
        { ...change('put', '{"b":2}', '', ''), documentKey: other, id: 'd2' }, // d2's hash exists: no floor needed
      ];

      expect(await redis.writeDocuments(...writeDocumentsArgs(stream, NOW, 0, changes))).toEqual([
        1,
        1,
        2,
        ScriptErrorCode.VERSION_MISMATCH,
        3,
        2,
      ]);
      const entries = await redis.xrange(stream, '-', '+');
      expect(entries.map(([, f]) => f[0])).toEqual([
        '3 put d1 1 100000',
        '3 put d2 1 100000',
        '3 put d1 2 100000',
        '3 del d1 3 100000',
        '3 put d2 2 100000',
      ]);
      expect(await redis.hgetall(other)).toEqual({ v: '2', d: '{"b":2}', x: '0' });
      await redis.del(other);
    });
  });

  describe('appendEvents', () => {
    it('appends an event id once', async () => {
      const event = { eventKey: doc, id: 'e1', doc: '{"n":1}' };
      expect(await redis.appendEvents(...appendEventsArgs(stream, 1000, 0, [event]))).toEqual([1]);
      expect(await redis.appendEvents(...appendEventsArgs(stream, 1000, 0, [event]))).toEqual([0]);
      const entries = await redis.xrange(stream, '-', '+');
      expect(entries.map(([, f]) => f)).toEqual([['3 evt e1 1 1000', '{"n":1}']]);
    });

    it('appends several events in order in one call, an id repeated in it once', async () => {
      const other = doc.replace(':doc', ':doc2');
      const events = [
        { eventKey: doc, id: 'e1', doc: '{"n":1}' },
        { eventKey: other, id: 'e2', doc: '{"n":2}' },
        { eventKey: doc, id: 'e1', doc: '{"n":3}' },
      ];

      expect(await redis.appendEvents(...appendEventsArgs(stream, 1000, 0, events))).toEqual([1, 1, 0]);
      const entries = await redis.xrange(stream, '-', '+');
      expect(entries.map(([, f]) => f)).toEqual([
        ['3 evt e1 1 1000', '{"n":1}'],
        ['3 evt e2 1 1000', '{"n":2}'],
      ]);
      expect(await redis.hget(doc, 'd')).toBe('{"n":1}');
      await redis.del(other);
    });
  });

  describe('dropTombstone', () => {
    it('lets only the tombstone of the version that was written expire, after it lingers', async () => {
      await put('{"a":1}');
      await del();
      expect(await redis.dropTombstone(doc, 1, 300)).toBe(0);
      expect(await redis.ttl(doc)).toBe(-1);
      expect(await redis.dropTombstone(doc, 2, 300)).toBe(1);
      expect(await redis.ttl(doc)).toBeGreaterThan(290);
      expect(await redis.dropTombstone(doc, 2, 1)).toBe(1);
      await expectEventually(async () => expect(await redis.exists(doc)).toBe(0), 5000);
    });

    it('continues the versions of a lingering tombstone on the next write, which stays', async () => {
      await put('{"a":1}');
      await del();
      await redis.dropTombstone(doc, 2, 300);
      expect(await put('{"a":3}')).toBe(3);
      expect(await redis.ttl(doc)).toBe(-1);
    });

    it('leaves a document that was written again after the delete', async () => {
      await put('{"a":1}');
      await del();
      await put('{"a":3}');
      expect(await redis.dropTombstone(doc, 2, 300)).toBe(0);
      expect(await redis.hget(doc, 'd')).toBe('{"a":3}');
    });
  });

  describe('deadLetter', () => {
    const dlq = () => `${stream}:dlq`;
    afterEach(() => redis.del(dlq()));

    it('moves a pending entry to the dead-letter stream with its reason, and acks it', async () => {
      const id = await redis.xadd(stream, '*', 'op', 'put', 'id', 'd1');
      await redis.xgroup('CREATE', stream, 'g', '0');
      await redis.xreadgroup('GROUP', 'g', 'c1', 'STREAMS', stream, '>');

      expect(await redis.deadLetter(stream, dlq(), 'g', id!, 'bad', 2, 4, 'op', 'put', 'id', 'd1')).toBe(1);
      const letters = await redis.xrange(dlq(), '-', '+');
      expect(letters.map(([, f]) => f)).toEqual([
        ['op', 'put', 'id', 'd1', 'reason', 'bad', 'source_id', id, 'deliveries', '2', 'group', 'g'],
      ]);
      expect(await redis.xpending(stream, 'g')).toEqual([0, null, null, null]);
    });

    it('dead-letters an entry once, though two consumers that both held it try', async () => {
      const id = await redis.xadd(stream, '*', 'op', 'put', 'id', 'd1');
      await redis.xgroup('CREATE', stream, 'g', '0');
      await redis.xreadgroup('GROUP', 'g', 'zombie', 'STREAMS', stream, '>');
      await redis.xclaim(stream, 'g', 'reclaimer', 0, id!);

      expect(await redis.deadLetter(stream, dlq(), 'g', id!, 'bad', 2, 0)).toBe(1);
      expect(await redis.deadLetter(stream, dlq(), 'g', id!, 'bad', 1, 0)).toBe(0);
      expect(await redis.xlen(dlq())).toBe(1);
    });
  });

  describe('documentVersions', () => {
    const epochKey = () => `${stream}:epoch`;
    afterEach(() => redis.del(epochKey()));

    it("answers the partition's epoch, the stream's last entry id and each hash's version, 0 where Redis holds none", async () => {
      await put('{"a":1}');
      await put('{"a":2}');
      const [last] = await redis.xrevrange(stream, '+', '-', 'COUNT', 1);
      const other = doc.replace(':doc', ':doc2');

      expect(await redis.documentVersions(4, epochKey(), stream, doc, other, 'token-1')).toEqual([
        'token-1',
        last?.[0],
        2,
        0,
      ]);
    });

    it('stores the first token as the epoch and keeps it; a new one only once Redis has lost it', async () => {
      expect((await redis.documentVersions(2, epochKey(), stream, 'token-1'))[0]).toBe('token-1');
      expect(await redis.documentVersions(2, epochKey(), stream, 'token-2')).toEqual(['token-1', '0-0']);
      await redis.del(epochKey()); // as FLUSHALL would

      expect((await redis.documentVersions(2, epochKey(), stream, 'token-3'))[0]).toBe('token-3');
    });
  });
});
