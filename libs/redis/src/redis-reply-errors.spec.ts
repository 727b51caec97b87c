import { ReplyError } from 'ioredis';
import { isReplyError, RedisReplyCode, replyErrorCode } from './redis-reply-errors';

describe(replyErrorCode.name, () => {
  it('reads the code of a reply error from the first word of its message', () => {
    const sut = replyErrorCode;

    expect(sut(new ReplyError("NOGROUP No such key 's' or consumer group 'g'"))).toBe('NOGROUP');
    expect(sut(new ReplyError('LOADING'))).toBe('LOADING');
  });

  it('gives no code for errors that are not replies, whatever their message says', () => {
    const sut = replyErrorCode;

    expect(sut(new Error('NOGROUP No such key'))).toBeUndefined();
    expect(sut('NOGROUP')).toBeUndefined();
    expect(sut(undefined)).toBeUndefined();
  });
});

describe(isReplyError.name, () => {
  it('matches a reply error by any of the codes asked about', () => {
    const sut = isReplyError;
    const busy = new ReplyError('BUSYGROUP Consumer Group name already exists');

    expect(sut(busy, RedisReplyCode.BUSYGROUP)).toBe(true);
    expect(sut(busy, RedisReplyCode.NOGROUP, RedisReplyCode.BUSYGROUP)).toBe(true);
    expect(sut(busy, RedisReplyCode.NOGROUP)).toBe(false);
  });

  it('does not match a code that only appears later in the message', () => {
    const sut = isReplyError;

    expect(sut(new ReplyError('ERR Error running script: NOGROUP'), RedisReplyCode.NOGROUP)).toBe(false);
    expect(sut(new Error('NOGROUP No such key'), RedisReplyCode.NOGROUP)).toBe(false);
  });
});
