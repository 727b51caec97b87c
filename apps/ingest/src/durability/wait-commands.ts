/** The levels a Redis command confirms on the connection the writes went on. */
export type WaitedLevel = 'replicated' | 'aof';

export interface WaitSettings {
  /** INGEST_WAIT_REPLICAS: WAIT's numreplicas */
  replicas: number;
  /** INGEST_WAIT_TIMEOUT_MS: WAIT's and WAITAOF's timeout */
  timeoutMs: number;
}

/**
 * The command that confirms a level for every write its connection sent before it: `WAIT <replicas> <timeout>`, or
 * `WAITAOF 1 0 <timeout>` (the primary fsynced them to its AOF; replicas are `replicated`'s business).
 */
export function waitCommand(level: WaitedLevel, settings: WaitSettings): [string, ...number[]] {
  switch (level) {
    case 'replicated':
      return ['WAIT', settings.replicas, settings.timeoutMs];
    case 'aof':
      return ['WAITAOF', 1, 0, settings.timeoutMs];
  }
}

/**
 * Whether the reply of {@link waitCommand} says the level was reached: WAIT answers the replicas that acknowledged,
 * WAITAOF `[local fsyncs, replica fsyncs]`. A reply of another shape counts as not reached.
 */
export function levelReached(level: WaitedLevel, reply: unknown, settings: WaitSettings): boolean {
  switch (level) {
    case 'replicated':
      return Number(reply) >= settings.replicas;
    case 'aof':
      return Array.isArray(reply) && Number(reply[0]) >= 1;
  }
}
