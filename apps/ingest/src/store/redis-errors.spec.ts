import { IngestException, IngestExceptionCode } from '../ingest.exception';
import { isOutcomeUnknown, isRedisUnavailable, redisFailure } from './redis-errors';

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

/** How ingest tells a write that may have run (503 "outcome unknown") from one that never reached Redis. */
describe('redis errors', () => {
  it('takes a command cut short with its connection for one whose outcome is unknown', () => {
    // Found by the chaos run: with auto-pipelining, a write queued behind an answered command got ioredis's
    // AbortError when Redis was killed, and ingest answered 500.
    expect(isOutcomeUnknown(named('AbortError', 'Command aborted due to connection close'))).toBe(true);
    expect(isOutcomeUnknown(named('MaxRetriesPerRequestError', 'Reached the max retries per request limit'))).toBe(
      true,
    );
    expect(isOutcomeUnknown(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isOutcomeUnknown(new Error('Connection is closed.'))).toBe(true);
  });

  it('takes a command never sent, or refused while Redis loads, for unavailable with nothing changed', () => {
    const refused = new Error("Stream isn't writeable and enableOfflineQueue options is false");

    expect(isOutcomeUnknown(refused)).toBe(false);
    expect(isRedisUnavailable(refused)).toBe(true);
    expect(isRedisUnavailable(named('ReplyError', 'LOADING Redis is loading the dataset in memory'))).toBe(true);
    expect(isRedisUnavailable(named('ReplyError', "READONLY You can't write against a read only replica."))).toBe(true);
  });

  it('takes a Redis Cluster client giving up on a command for unknown: a try may have reached a master', () => {
    const gaveUp = new Error('Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down');

    expect(isOutcomeUnknown(gaveUp)).toBe(true);
    expect(isOutcomeUnknown(new Error('Command timed out'))).toBe(true);
    expect(redisFailure(gaveUp, 'write')).toMatchObject({ code: IngestExceptionCode.OUTCOME_UNKNOWN });
    expect(redisFailure(gaveUp, 'read')).toMatchObject({ code: IngestExceptionCode.REDIS_UNAVAILABLE });
  });

  it('takes the refusals of a Redis Cluster, and a cluster not reachable, for unavailable with nothing changed', () => {
    for (const reply of [
      'CLUSTERDOWN Hash slot not served',
      'CLUSTERDOWN The cluster is down',
      'MOVED 3999 127.0.0.1:6381',
      'ASK 3999 127.0.0.1:6381',
      'TRYAGAIN Multiple keys request during rehashing of slot',
    ]) {
      expect(isOutcomeUnknown(named('ReplyError', reply)), reply).toBe(false);
      expect(redisFailure(named('ReplyError', reply), 'write'), reply).toMatchObject({
        code: IngestExceptionCode.REDIS_UNAVAILABLE,
      });
    }
    for (const message of [
      "Cluster isn't ready and enableOfflineQueue options is false",
      'Failed to refresh slots cache.',
      'None of startup nodes is available',
    ]) {
      expect(redisFailure(new Error(message), 'write'), message).toMatchObject({
        code: IngestExceptionCode.REDIS_UNAVAILABLE,
      });
    }
    const crossSlot = named('ReplyError', "CROSSSLOT Keys in request don't hash to the same slot");
    expect(redisFailure(crossSlot, 'write')).toBe(crossSlot);
  });

  it('leaves any other error to be answered as the bug it is', () => {
    expect(isRedisUnavailable(named('ReplyError', 'ERR Error running script'))).toBe(false);
    expect(isRedisUnavailable('not an error')).toBe(false);
  });

  describe(redisFailure.name, () => {
    const cutShort = named('AbortError', 'Command aborted due to connection close');
    const refused = new Error("Stream isn't writeable and enableOfflineQueue options is false");

    it('makes a write cut short OUTCOME_UNKNOWN, and a read cut short REDIS_UNAVAILABLE (nothing was written)', () => {
      expect(redisFailure(cutShort, 'write')).toMatchObject({
        code: IngestExceptionCode.OUTCOME_UNKNOWN,
        cause: cutShort,
      });
      expect(redisFailure(cutShort, 'read')).toMatchObject({ code: IngestExceptionCode.REDIS_UNAVAILABLE });
    });

    it('makes a command never sent REDIS_UNAVAILABLE, and leaves any other error as it is', () => {
      expect(redisFailure(refused, 'write')).toBeInstanceOf(IngestException);
      expect(redisFailure(refused, 'write')).toMatchObject({ code: IngestExceptionCode.REDIS_UNAVAILABLE });
      const bug = named('ReplyError', 'ERR Error running script');
      expect(redisFailure(bug, 'write')).toBe(bug);
    });
  });
});
