import type { RedisClient } from '@app/redis';

/** How long one WAIT may block before the sink looks again at which replicas are connected (and at a stop). */
const WAIT_SLICE_MS = 1000;
/** While the master has no replica, how often the sink looks (ROLE) whether one has connected since. */
const NO_REPLICA_LOOK_MS = 1000;

/** How many replicas to wait for, and how long to go on waiting for one that is gone. */
export interface ReplicaWaitSettings {
  /** SINK_WAIT_REPLICAS: 0 turns the wait off */
  waitReplicas: number;
  /** SINK_MISSING_REPLICA_WAIT_MS */
  missingReplicaWaitMs: number;
}

/** The number of replicas in a master's ROLE reply; throws when the server is not a master (a failover under way). */
export function replicasInRole(reply: unknown): number {
  if (!Array.isArray(reply) || reply[0] !== 'master' || !Array.isArray(reply[2])) {
    const role: unknown = Array.isArray(reply) ? reply[0] : reply;
    throw new Error(`the partition's Redis server is not a master (ROLE: ${String(role)})`);
  }

  return reply[2].length;
}

/**
 * Holds a partition's batches until replicas of its Redis master hold them (SINK_WAIT_REPLICAS), so that the database
 * never gets a version a failover takes back: the promoted replica would hand that version out again for another
 * write, and the database's version guard would then refuse the acknowledged one.
 *
 * WAIT counts the writes of the connection it is sent on, so it goes on the connection that read the batch, right
 * after a write of its own ({@link PartitionKeys.replicationMark}) and a ROLE that tells how many replicas are
 * connected: one round trip when all is well. A master with no replica has none a failover could promote; the sink
 * looks again once a second. A replica that was connected and is gone may be the one about to be promoted (a master
 * cut off from it keeps taking writes until the failover), so the sink waits for it for up to
 * SINK_MISSING_REPLICA_WAIT_MS before it writes with the replicas still connected.
 */
export class ReplicaWait {
  /** The most replicas seen connected to this master (at most the number wanted). */
  private expected = 0;
  /** Since when fewer than {@link expected} are connected. */
  private missingSince?: number;
  private nextLookAt = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly markKey: string,
    private readonly settings: ReplicaWaitSettings,
  ) {}

  /**
   * Resolves true once the replicas hold everything this connection read; false when `stopping` turns true while they
   * do not (the batch then stays pending). `onHeld` is called once a batch has been held for a whole WAIT.
   */
  async replicated(stopping: () => boolean, onHeld: (replicas: number) => void): Promise<boolean> {
    if (this.settings.waitReplicas === 0 || (this.expected === 0 && Date.now() < this.nextLookAt)) {
      return true;
    }
    for (let attempt = 0; ; attempt++) {
      const need = this.expected;
      const acked = await this.look(need);
      if (acked >= this.expected) {
        this.nextLookAt = Date.now() + NO_REPLICA_LOOK_MS;

        return true;
      }
      if (stopping()) {
        return false;
      }
      if (attempt === 1) {
        onHeld(this.expected);
      }
    }
  }

  /** Forgets the replicas seen: the connection may now reach another master. */
  forget(): void {
    this.expected = 0;
    this.missingSince = undefined;
  }

  /** INCR of the mark, ROLE and, when replicas are needed, WAIT: the number of replicas that hold what was read. */
  private async look(need: number): Promise<number> {
    const pipeline = this.redis.pipeline().incr(this.markKey).role();
    if (need > 0) {
      pipeline.wait(need, WAIT_SLICE_MS);
    }
    const replies = (await pipeline.exec()) ?? [];
    for (const [error] of replies) {
      if (error) {
        throw error;
      }
    }
    this.learn(replicasInRole(replies[1]?.[1]));

    return need > 0 ? Number(replies[2]?.[1]) : 0;
  }

  /** Updates {@link expected} from the replicas connected now. */
  private learn(connected: number): void {
    const wanted = Math.min(this.settings.waitReplicas, connected);
    if (wanted >= this.expected) {
      this.expected = wanted;
      this.missingSince = undefined;

      return;
    }
    this.missingSince ??= Date.now();
    if (Date.now() - this.missingSince >= this.settings.missingReplicaWaitMs) {
      this.expected = wanted; // gone for good, it seems: go on with those still connected
      this.missingSince = undefined;
    }
  }
}
