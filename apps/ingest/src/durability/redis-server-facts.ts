/** What a Redis server says of itself that the durability levels depend on. */
export interface RedisServerFacts {
  /** `redis_version` of INFO server, e.g. `7.0.15` */
  version: string;
  /** `aof_enabled` of INFO persistence */
  aofEnabled: boolean;
}

/** The facts in the text of `INFO server` and `INFO persistence` (one or both). */
export function parseServerFacts(info: string): RedisServerFacts {
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();

  return { version: field('redis_version') ?? 'unknown', aofEnabled: field('aof_enabled') === '1' };
}

/** WAITAOF came with Redis 7.2. */
export function hasWaitAof(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);

  return major > 7 || (major === 7 && minor >= 2);
}

/**
 * Why `aof` cannot be given by this server (`who` asked for it: the request, a collection, INGEST_DURABILITY), or
 * undefined when it can.
 */
export function aofRefusal(facts: RedisServerFacts, who: string): string | undefined {
  if (!hasWaitAof(facts.version)) {
    return `${who} asks for durability aof, which needs WAITAOF (Redis 7.2 or later); this Redis is ${facts.version}`;
  }
  if (!facts.aofEnabled) {
    return `${who} asks for durability aof, but this Redis (${facts.version}) has its AOF off (appendonly no)`;
  }

  return undefined;
}
