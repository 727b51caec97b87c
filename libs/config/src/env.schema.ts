import 'reflect-metadata';
import { plainToInstance, Transform, Type } from 'class-transformer';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateBy, validateSync } from 'class-validator';
import { DEFAULT_CONNECTION, DEFAULT_PARTITIONS, DEFAULT_SINK_GROUP, MAX_PARTITIONS } from '@app/contracts';
import { redisConnectionProblems } from './redis-connection';

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

  /** The Redis password (of REDIS_URL's user, if it names one) when REDIS_URL holds none: for a Secret of its own. */
  @IsOptional()
  @IsString()
  REDIS_PASSWORD?: string;

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

  @IsOptional()
  @Matches(/^[^,\s]+(,[^,\s]+)*$/, { message: 'INGEST_API_KEYS must be comma-separated keys without spaces' })
  INGEST_API_KEYS?: string;

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
    Object.values(e.constraints ?? {}).map((message) => `${message} (got ${JSON.stringify(raw[e.property])})`),
  );
  if (problems.length === 0) {
    problems.push(...redisConnectionProblems(env), ...connectionProblems(env, present));
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
