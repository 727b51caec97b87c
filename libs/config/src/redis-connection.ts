/** A seed node of a Redis Cluster. */
export interface RedisNodeAddress {
  host: string;
  port: number;
}

/** Where Redis is and how to log in: one server (REDIS_URL), or a Redis Cluster (REDIS_CLUSTER_NODES). */
export interface RedisConnectionSettings {
  /** REDIS_URL: the server in single-server mode; in cluster mode only its credentials and scheme count */
  url: string;
  /** the seed nodes of a Redis Cluster; undefined in single-server mode */
  clusterNodes?: RedisNodeAddress[];
  /** REDIS_URL's user (ACL), if any */
  username?: string;
  /** REDIS_URL's password, else REDIS_PASSWORD, if any */
  password?: string;
  /** REDIS_URL is `rediss://`: every node is reached over TLS */
  tls: boolean;
}

/** `host:port`, the host a name, an IPv4 address or a bracketed IPv6 address. */
const NODE_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})$/;

/** The nodes of a REDIS_CLUSTER_NODES value, or the first item that is not `host:port` (as an error message). */
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

/**
 * The Redis connection settings of an environment already validated (REDIS_URL, REDIS_CLUSTER_NODES, REDIS_PASSWORD).
 * A password in the URL is percent-decoded, as ioredis decodes it.
 */
export function redisConnectionSettings(env: {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: string;
  REDIS_PASSWORD?: string;
}): RedisConnectionSettings {
  const url = new URL(env.REDIS_URL);
  const nodes = env.REDIS_CLUSTER_NODES === undefined ? undefined : parseSeedNodes(env.REDIS_CLUSTER_NODES);
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password) || env.REDIS_PASSWORD;

  return {
    url: env.REDIS_URL,
    ...(Array.isArray(nodes) ? { clusterNodes: nodes } : {}),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    tls: url.protocol === 'rediss:',
  };
}

/**
 * What is wrong with the Redis settings beyond their own patterns: seed nodes that are not `host:port`, and a database
 * other than 0 in REDIS_URL when REDIS_CLUSTER_NODES is set (a cluster has only database 0). A password is never
 * printed.
 */
export function redisConnectionProblems(env: { REDIS_URL: string; REDIS_CLUSTER_NODES?: string }): string[] {
  if (env.REDIS_CLUSTER_NODES === undefined) {
    return [];
  }
  const problems: string[] = [];
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
