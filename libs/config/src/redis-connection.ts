/** A seed node of a Redis Cluster. */
export interface RedisNodeAddress {
  host: string;
  port: number;
}

/** The Sentinels that watch a master and its replicas, and the name they know the master by. */
export interface RedisSentinelSettings {
  /** REDIS_SENTINELS: the Sentinels asked where the master is */
  nodes: RedisNodeAddress[];
  /** REDIS_SENTINEL_NAME: the master's name in the Sentinels' `sentinel monitor` lines */
  masterName: string;
  /** REDIS_SENTINEL_PASSWORD: the Sentinels' own password (their `requirepass`), if they have one */
  password?: string;
}

/**
 * Where Redis is and how to log in: one server (REDIS_URL), a Redis Cluster (REDIS_CLUSTER_NODES), or a master the
 * Sentinels name (REDIS_SENTINELS and REDIS_SENTINEL_NAME).
 */
export interface RedisConnectionSettings {
  /**
   * REDIS_URL: the server in single-server mode; in cluster mode only its credentials and scheme count, in Sentinel
   * mode its credentials, scheme and database
   */
  url: string;
  /** the seed nodes of a Redis Cluster; undefined in single-server and Sentinel mode */
  clusterNodes?: RedisNodeAddress[];
  /** the Sentinels to ask for the master; undefined in single-server and cluster mode */
  sentinel?: RedisSentinelSettings;
  /** REDIS_URL's user (ACL), if any */
  username?: string;
  /** REDIS_URL's password, else REDIS_PASSWORD, if any */
  password?: string;
  /** REDIS_URL is `rediss://`: every node is reached over TLS */
  tls: boolean;
  /** REDIS_TLS_CA_FILE: the CA certificates that verify the servers' certificates (redis-tls.ts) */
  tlsCaFile?: string;
}

/** `host:port`, the host a name, an IPv4 address or a bracketed IPv6 address. */
const NODE_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})$/;

/**
 * The nodes of a REDIS_CLUSTER_NODES or REDIS_SENTINELS value, or the first item that is not `host:port` (as an error
 * message).
 */
export function parseSeedNodes(value: string): RedisNodeAddress[] | string {
  const items = value.split(',').map((item) => item.trim());
  const nodes: RedisNodeAddress[] = [];
  for (const item of items) {
    const match = NODE_PATTERN.exec(item);
    const port = Number(match?.[2]);
    if (!match?.[1] || !(port >= 1 && port <= 65535)) {
      return `"${item}" is not host:port`;
    }
    nodes.push({ host: match[1].replace(/^\[(.*)\]$/, '$1'), port });
  }

  return nodes;
}

/** The Redis variables of the environment. */
export interface RedisEnv {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_NAME?: string;
  REDIS_SENTINEL_PASSWORD?: string;
  REDIS_PASSWORD?: string;
  REDIS_TLS_CA_FILE?: string;
}

/**
 * The Redis connection settings of an environment already validated (REDIS_URL, REDIS_CLUSTER_NODES,
 * REDIS_SENTINELS, REDIS_SENTINEL_NAME, REDIS_PASSWORD). A password in the URL is percent-decoded, as ioredis decodes
 * it.
 */
const sentinelPassword = (env: RedisEnv): { password?: string } =>
  env.REDIS_SENTINEL_PASSWORD ? { password: env.REDIS_SENTINEL_PASSWORD } : {};

export function redisConnectionSettings(env: RedisEnv): RedisConnectionSettings {
  const url = new URL(env.REDIS_URL);
  const nodes = env.REDIS_CLUSTER_NODES === undefined ? undefined : parseSeedNodes(env.REDIS_CLUSTER_NODES);
  const sentinels = env.REDIS_SENTINELS === undefined ? undefined : parseSeedNodes(env.REDIS_SENTINELS);
  const masterName = env.REDIS_SENTINEL_NAME?.trim();
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password) || env.REDIS_PASSWORD;

  return {
    url: env.REDIS_URL,
    ...(Array.isArray(nodes) ? { clusterNodes: nodes } : {}),
    ...(Array.isArray(sentinels) && masterName
      ? { sentinel: { nodes: sentinels, masterName, ...sentinelPassword(env) } }
      : {}),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    tls: url.protocol === 'rediss:',
    ...(env.REDIS_TLS_CA_FILE === undefined ? {} : { tlsCaFile: env.REDIS_TLS_CA_FILE }),
  };
}

/**
 * What is wrong with the Redis settings beyond their own patterns: seed nodes or Sentinels that are not `host:port`,
 * a database other than 0 in REDIS_URL when REDIS_CLUSTER_NODES is set (a cluster has only database 0), one of
 * REDIS_SENTINELS and REDIS_SENTINEL_NAME without the other, and Sentinels together with a cluster. A password is
 * never printed.
 */
export function redisConnectionProblems(env: RedisEnv): string[] {
  const problems = sentinelProblems(env);
  if (env.REDIS_CLUSTER_NODES === undefined) {
    return problems;
  }
  const nodes = parseSeedNodes(env.REDIS_CLUSTER_NODES);
  if (typeof nodes === 'string') {
    problems.push(
      `REDIS_CLUSTER_NODES must be comma-separated host:port seed nodes of a Redis Cluster, ` +
        `e.g. 10.0.0.1:6379,10.0.0.2:6379 (${nodes})`,
    );
  }
  const database = new URL(env.REDIS_URL).pathname.replace(/^\//, '');
  if (database !== '' && database !== '0') {
    problems.push(
      `REDIS_URL selects database ${database}, but a Redis Cluster (REDIS_CLUSTER_NODES) has only database 0; ` +
        'drop the /<db> from REDIS_URL (in cluster mode only its credentials and scheme are used)',
    );
  }

  return problems;
}

/** What is wrong with REDIS_SENTINELS and REDIS_SENTINEL_NAME, each problem one line. */
function sentinelProblems(env: RedisEnv): string[] {
  const sentinels = env.REDIS_SENTINELS;
  const name = env.REDIS_SENTINEL_NAME?.trim();
  if (sentinels === undefined && !name) {
    return [];
  }
  if (env.REDIS_CLUSTER_NODES !== undefined) {
    return [
      'REDIS_SENTINELS and REDIS_SENTINEL_NAME (Sentinel) cannot be used with REDIS_CLUSTER_NODES (a Redis Cluster ' +
        'fails over by itself): set one or the other',
    ];
  }
  if (sentinels === undefined || !name) {
    return [
      'REDIS_SENTINELS and REDIS_SENTINEL_NAME go together: set both (the Sentinels, e.g. ' +
        '10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379, and the master name of their `sentinel monitor` line) or neither',
    ];
  }
  const nodes = parseSeedNodes(sentinels);

  return typeof nodes === 'string'
    ? [`REDIS_SENTINELS must be comma-separated host:port of Redis Sentinels, e.g. 10.0.0.1:26379 (${nodes})`]
    : [];
}
