import type { Redis } from 'ioredis';
import { groupMembersKey, type PartitionKeys } from '@app/contracts';

/** The commands the leases send: any client of the shared connection (one server or a cluster) has them. */
export type LeaseCommands = Pick<Redis, 'holdLease' | 'zrangebyscore' | 'zrem'>;

/** What a heartbeat found: Redis's clock and the live sinks of the group. */
export interface Heartbeat {
  /** the server time, ms: lease scores are compared with it, never with this process's clock */
  now: number;
  members: string[];
}

/** A lease round's answer for one partition: whether this sink holds it now, and who reads it. */
export interface Hold {
  held: boolean;
  readers: string[];
}

/**
 * The Redis side of one consumer group's partition leases for one sink: its heartbeat in the group's membership,
 * and taking, renewing and giving up the lease of a partition. Each call touches one key (one Cluster slot).
 */
export class PartitionLeases {
  private readonly membersKey: string;

  constructor(
    private readonly redis: LeaseCommands,
    private readonly group: string,
    private readonly consumer: string,
    private readonly ttlMs: number,
  ) {
    this.membersKey = groupMembersKey(group);
  }

  /** Renews this sink's membership of the group and lists the live members. */
  async heartbeat(): Promise<Heartbeat> {
    const [, now, members] = await this.redis.holdLease(this.membersKey, this.consumer, this.ttlMs, 0);

    return { now: Number(now), members };
  }

  /** Renews the lease of a partition this sink holds, or takes it when it has room for another reader. */
  async hold(keys: PartitionKeys, room: number): Promise<Hold> {
    const [held, , readers] = await this.redis.holdLease(keys.lease(this.group), this.consumer, this.ttlMs, room);

    return { held: held === 1, readers };
  }

  /** The sinks whose lease of a partition has not lapsed at `now` (the server time of a heartbeat). */
  readers(keys: PartitionKeys, now: number): Promise<string[]> {
    return this.redis.zrangebyscore(keys.lease(this.group), `(${now}`, '+inf');
  }

  /** Gives up a partition's lease: removes this sink's name only, whoever else holds the partition. */
  async release(keys: PartitionKeys): Promise<void> {
    await this.redis.zrem(keys.lease(this.group), this.consumer);
  }

  /** Leaves the group's membership, so the others count one sink fewer at once rather than after the TTL. */
  async leave(): Promise<void> {
    await this.redis.zrem(this.membersKey, this.consumer);
  }
}
