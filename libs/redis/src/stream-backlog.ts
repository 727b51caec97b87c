import { compareEntryIds } from '@app/contracts';
import type { RedisClient } from './redis-client';

/** One consumer group of a stream, as XINFO GROUPS tells it. */
export interface StreamGroupInfo {
  name: string;
  pending: number;
  /** Redis's count of entries not yet delivered to the group; null when it cannot tell. */
  lag: number | null;
  lastDelivered: string;
}

/** What a stream holds and what its groups have yet to write. */
export interface StreamBacklog {
  length: number;
  /** Delivered to a group and not acked, summed over the groups. */
  pending: number;
  /** Entries some group has not acked yet (undelivered plus pending) of the group furthest behind; the length without groups. */
  backlog: number;
}

/** XINFO GROUPS as objects; a stream that does not exist has no groups. */
export async function readStreamGroups(redis: Pick<RedisClient, 'xinfo'>, stream: string): Promise<StreamGroupInfo[]> {
  let reply: unknown[];
  try {
    reply = (await redis.xinfo('GROUPS', stream)) as unknown[];
  } catch (error) {
    if (/no such key/i.test((error as Error).message)) {
      return [];
    }
    throw error;
  }

  return reply.map((raw) => {
    const fields = raw as (string | number | null)[];
    const get = (name: string) => fields[fields.indexOf(name) + 1];

    return {
      name: String(get('name')),
      pending: Number(get('pending')),
      lag: get('lag') === null ? null : Number(get('lag')),
      lastDelivered: String(get('last-delivered-id')),
    };
  });
}

/** Length, pending and backlog of one stream (a partition's), read with XLEN, XINFO GROUPS and the newest entry. */
export async function readStreamBacklog(
  redis: Pick<RedisClient, 'xinfo' | 'xlen' | 'xrevrange'>,
  stream: string,
): Promise<StreamBacklog> {
  const [length, groups, newest] = await Promise.all([
    redis.xlen(stream),
    readStreamGroups(redis, stream),
    redis.xrevrange(stream, '+', '-', 'COUNT', 1),
  ]);
  const newestId = newest[0]?.[0];
  const undelivered = (group: StreamGroupInfo) => {
    // Entries not yet delivered are still on the stream, after the group's last delivered one. Redis's own
    // count ('lag') can stay off for good after an AOF reload, so it is only trusted within those bounds.
    if (newestId === undefined || compareEntryIds(newestId, group.lastDelivered) <= 0) {
      return 0;
    }

    return Math.min(group.lag ?? length, length);
  };

  return {
    length,
    pending: groups.reduce((sum, g) => sum + g.pending, 0),
    backlog: groups.length === 0 ? length : Math.max(...groups.map((g) => g.pending + undelivered(g))),
  };
}
