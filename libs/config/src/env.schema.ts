import 'reflect-metadata';
import { plainToInstance, Transform, Type } from 'class-transformer';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateBy, validateSync } from 'class-validator';
import {
  DEFAULT_CONNECTION,
  DEFAULT_DURABILITY,
  DEFAULT_PARTITIONS,
  DEFAULT_SINK_GROUP,
  type Durability,
  DURABILITY_LEVELS,
  MAX_PARTITIONS,
} from '@app/contracts';
import { parseApiKeys } from './api-keys';
import { databaseTlsProblems } from './database-tls';
import { redisConnectionProblems } from './redis-connection';
import { redisTlsProblems } from './redis-tls';
import { shownValue } from './secret-settings';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const toInt = () => Type(() => Number);

/** The items of a comma-separated list (SINK_ENTITIES, SPILLWAY_CONNECTIONS), trimmed, empty ones left out. */
export function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((path) => path.trim())
    .filter((path) => path !== '');
}

/** Every path of a comma-separated list exists, resolved from the working directory. */
const ExistingPaths = () =>
  ValidateBy({
    name: 'existingPaths',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' &&
        splitList(value).length > 0 &&
        splitList(value).every((path) => existsSync(resolve(path))),
      defaultMessage: () =>
        'SINK_ENTITIES must be comma-separated paths of compiled JavaScript modules that exist ' +
        `(resolved from ${process.cwd()})`,
    },
  });

/** A database URL of a dialect Spillway writes to (libs/persistence/src/dialect). */
const DATABASE_URL_PATTERN = /^(postgres|postgresql|mysql|mariadb):\/\/\S+$/;
const DATABASE_URL_SCHEMES = 'postgres://, postgresql://, mysql:// or mariadb://';

/** The variable that holds a named connection's URL. */
export const connectionUrlVariable = (name: string): string => `SPILLWAY_CONNECTION_${name.toUpperCase()}_URL`;

/** Every setting of both apps, validated once at boot (CONTRACT.md section 8). */
export class Env {
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /**
   * Seed nodes of a Redis Cluster (`host:port,host:port,…`): set, ingest and the sinks use a cluster client, and
   * REDIS_URL only lends its credentials and scheme (`rediss://` for TLS). Unset: the one server of REDIS_URL.
   */
  @IsOptional()
  @IsString()
  REDIS_CLUSTER_NODES?: string;

  /**
   * Redis Sentinels (`host:port,host:port,…`) that name the master, with REDIS_SENTINEL_NAME: set, ingest and the
   * sinks ask them where the master is and follow it through a failover; REDIS_URL lends its credentials, scheme and
   * database. Not with REDIS_CLUSTER_NODES.
   */
  @IsOptional()
  @IsString()
  REDIS_SENTINELS?: string;

  /** The master's name in the Sentinels' `sentinel monitor` line; set with REDIS_SENTINELS. */
  @IsOptional()
  @IsString()
  REDIS_SENTINEL_NAME?: string;

  /** The Sentinels' own password (`requirepass` in their config), when they have one; the master's is REDIS_URL's. */
  @IsOptional()
  @IsString()
  REDIS_SENTINEL_PASSWORD?: string;

  /** The Redis password (of REDIS_URL's user, if it names one) when REDIS_URL holds none: for a Secret of its own. */
  @IsOptional()
  @IsString()
  REDIS_PASSWORD?: string;

  /**
   * PEM file of the CA certificates that verify Redis's certificate when REDIS_URL is `rediss://` (default: Node.js's
   * CA list); checked at start.
   */
  @IsOptional()
  @IsString()
  REDIS_TLS_CA_FILE?: string;

  @Matches(DATABASE_URL_PATTERN, { message: `DATABASE_URL must be a ${DATABASE_URL_SCHEMES} URL` })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/spillway';

  /**
   * Databases besides DATABASE_URL that outputs name with `connection:` (docs/collections.md); lower case, as in
   * collection files. Each one's URL is in SPILLWAY_CONNECTION_<NAME>_URL.
   */
  @IsOptional()
  @Matches(/^\s*[a-z][a-z0-9_]{0,31}\s*(,\s*[a-z][a-z0-9_]{0,31}\s*)*$/, {
    message: 'SPILLWAY_CONNECTIONS must be comma-separated names of 1 to 32 of a-z 0-9 _, starting with a letter',
  })
  SPILLWAY_CONNECTIONS?: string;

  /** The connections this sink writes to (default: all); `default` is DATABASE_URL's. */
  @IsOptional()
  @IsString()
  SINK_CONNECTIONS?: string;

  @IsOptional()
  @toInt()
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT?: number;

  @IsString()
  COLLECTIONS_DIR = 'config/collections';

  /** Partitions of every collection whose file has no `partitions:`. */
  @toInt()
  @IsInt()
  @Min(1)
  @Max(MAX_PARTITIONS)
  SPILLWAY_PARTITIONS = DEFAULT_PARTITIONS;

  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))
  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'log';

  @toInt()
  @IsInt()
  @Min(1024)
  INGEST_MAX_BODY = 1024 * 1024;

  @toInt()
  @IsInt()
  @Min(1)
  INGEST_MAX_BACKLOG = 1_000_000;

  @IsOptional()
  @toInt()
  @IsInt()
  // Far above the 10 s a version floor read from PostgreSQL stays usable (includes/writeChange.lua).
  @Min(60)
  INGEST_DOC_TTL_S?: number;

  /** Bearer keys for /v1, each optionally scoped to collections and to reads (grammar in api-keys.ts). */
  @IsOptional()
  @IsString()
  INGEST_API_KEYS?: string;

  /** Requests a second each API key (each client address, without keys) may make of /v1, shared by every replica. */
  @IsOptional()
  @toInt()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  INGEST_RATE_LIMIT?: number;

  /** The durability of a write whose request and collection name none (docs/guarantees.md#durability-levels). */
  @IsIn(DURABILITY_LEVELS, { message: `INGEST_DURABILITY must be one of ${DURABILITY_LEVELS.join(', ')}` })
  INGEST_DURABILITY: Durability = DEFAULT_DURABILITY;

  /** Replicas a `replicated` write waits for (WAIT's numreplicas). */
  @toInt()
  @IsInt()
  @Min(1)
  @Max(16)
  INGEST_WAIT_REPLICAS = 1;

  /** How long a `replicated` or `aof` write waits (WAIT's and WAITAOF's timeout) before it answers with a lower level. */
  @toInt()
  @IsInt()
  @Min(1)
  @Max(60_000)
  INGEST_WAIT_TIMEOUT_MS = 2000;

  /** How long a `persisted` write waits for a sink's commit notice before it answers with a lower level. */
  @toInt()
  @IsInt()
  @Min(1)
  @Max(60_000)
  INGEST_PERSIST_TIMEOUT_MS = 5000;

  @Matches(/^[A-Za-z0-9._:-]{1,64}$/, { message: 'SINK_GROUP must be 1 to 64 of A-Z a-z 0-9 . _ : -' })
  SINK_GROUP = DEFAULT_SINK_GROUP;

  @IsOptional()
  @Matches(/^[A-Za-z0-9._:-]{1,128}$/, { message: 'SINK_CONSUMER must be 1 to 128 of A-Z a-z 0-9 . _ : -' })
  SINK_CONSUMER?: string;

  /** Compiled modules exporting TypeORM entities that outputs name with `entity:` (docs/collections.md). */
  @IsOptional()
  @ExistingPaths()
  SINK_ENTITIES?: string;

  @toInt()
  @IsInt()
  @Min(1)
  @Max(10_000)
  SINK_BATCH_SIZE = 500;

  @toInt()
  @IsInt()
  @Min(1)
  @Max(60_000)
  SINK_BLOCK_MS = 1000;

  @toInt()
  @IsInt()
  @Min(100)
  SINK_CLAIM_IDLE_MS = 30_000;

  /** How long a sink's partition leases outlive its last renewal (every third of it): a dead sink's are taken then. */
  @toInt()
  @IsInt()
  @Min(1000)
  @Max(600_000)
  SINK_LEASE_TTL_MS = 10_000;

  /**
   * How many replicas of a partition's Redis master must hold a batch before the sink writes it to the database
   * (capped at the replicas connected; 0: write at once), so that a failover never leaves the database holding a
   * version the new master lost and will hand out again.
   */
  @toInt()
  @IsInt()
  @Min(0)
  @Max(16)
  SINK_WAIT_REPLICAS = 1;

  /**
   * How long the sink keeps holding batches for a replica that was connected and is gone (cut off, or a failover under
   * way: the master may be about to lose what only it holds) before it writes with the replicas still connected.
   */
  @toInt()
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  SINK_MISSING_REPLICA_WAIT_MS = 60_000;

  @toInt()
  @IsInt()
  @Min(1)
  @Max(1000)
  SINK_MAX_DELIVERIES = 5;

  @toInt()
  @IsInt()
  @Min(100)
  SINK_SHUTDOWN_MS = 10_000;
}

export class ConfigValidationException extends Error {
  override readonly name = 'ConfigValidationException';
}

/** Validates a plain environment; throws one line that names every bad setting. */
export function validate(raw: Record<string, unknown>): Env {
  // An empty variable means "not set", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== '' && value !== undefined));
  const env = plainToInstance(Env, present, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false });
  const problems = errors.flatMap((e) =>
    Object.values(e.constraints ?? {}).map((message) => `${message} (got ${shownValue(e.property, raw[e.property])})`),
  );
  if (problems.length === 0) {
    problems.push(
      ...redisConnectionProblems(env),
      ...connectionProblems(env, present),
      ...redisTlsProblems(env),
      ...databaseConnections(env, present).flatMap(({ name, url }) =>
        databaseTlsProblems(name === DEFAULT_CONNECTION ? 'DATABASE_URL' : connectionUrlVariable(name), url),
      ),
      ...parseApiKeys(env.INGEST_API_KEYS).problems,
    );
  }
  if (problems.length > 0) {
    throw new ConfigValidationException(`Invalid environment: ${problems.join('; ')}`);
  }

  return env;
}

/**
 * What is wrong with the named connections: each needs its URL variable, `default` is DATABASE_URL's name, and
 * SINK_CONNECTIONS names only connections that exist. A URL's value is never printed: it may hold a password.
 */
function connectionProblems(env: Env, present: Record<string, unknown>): string[] {
  const named = splitList(env.SPILLWAY_CONNECTIONS);
  const problems: string[] = [];
  for (const name of named) {
    const variable = connectionUrlVariable(name);
    const url = present[variable];
    if (name === DEFAULT_CONNECTION) {
      problems.push(`SPILLWAY_CONNECTIONS: "${DEFAULT_CONNECTION}" is DATABASE_URL's connection; name the others`);
    } else if (url === undefined) {
      problems.push(`SPILLWAY_CONNECTIONS names ${name}, so ${variable} must be set`);
    } else if (typeof url !== 'string' || !DATABASE_URL_PATTERN.test(url)) {
      problems.push(`${variable} must be a ${DATABASE_URL_SCHEMES} URL`);
    }
  }
  const known = [DEFAULT_CONNECTION, ...named];
  for (const name of splitList(env.SINK_CONNECTIONS)) {
    if (!known.includes(name)) {
      problems.push(`SINK_CONNECTIONS names ${name}, which is not a connection (${known.join(', ')})`);
    }
  }

  return problems;
}

/** Every connection: the default one (DATABASE_URL), then those SPILLWAY_CONNECTIONS names, with their URLs. */
export function databaseConnections(env: Env, raw: Record<string, unknown> = process.env): DatabaseConnection[] {
  return [
    { name: DEFAULT_CONNECTION, url: env.DATABASE_URL },
    ...splitList(env.SPILLWAY_CONNECTIONS).map((name) => ({
      name,
      url: String(raw[connectionUrlVariable(name)]),
    })),
  ];
}

/** A database the sink writes to, by name. */
export interface DatabaseConnection {
  name: string;
  url: string;
}

/** The validated process environment. */
export function loadEnv(): Env {
  return validate(process.env);
}

/** Nest takes the list of levels to print; LOG_LEVEL names the most verbose one. */
export function logLevelsFrom(level: LogLevel): LogLevel[] {
  return LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1);
}
