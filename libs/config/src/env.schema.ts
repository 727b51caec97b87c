import 'reflect-metadata';
import { plainToInstance, Transform, Type } from 'class-transformer';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateBy, validateSync } from 'class-validator';
import { DEFAULT_SINK_GROUP } from '@app/contracts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const toInt = () => Type(() => Number);

/** The paths of a comma-separated list (SINK_ENTITIES), trimmed, empty ones left out. */
export function splitPathList(value: string | undefined): string[] {
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
        splitPathList(value).length > 0 &&
        splitPathList(value).every((path) => existsSync(resolve(path))),
      defaultMessage: () =>
        'SINK_ENTITIES must be comma-separated paths of compiled JavaScript modules that exist ' +
        `(resolved from ${process.cwd()})`,
    },
  });

/** Every setting of both apps, validated once at boot (CONTRACT.md section 8). */
export class Env {
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/spillway';

  @IsOptional()
  @toInt()
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT?: number;

  @IsString()
  COLLECTIONS_DIR = 'config/collections';

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
  if (errors.length > 0) {
    const problems = errors.flatMap((e) =>
      Object.values(e.constraints ?? {}).map((message) => `${message} (got ${JSON.stringify(raw[e.property])})`),
    );
    throw new ConfigValidationException(`Invalid environment: ${problems.join('; ')}`);
  }

  return env;
}

/** The validated process environment. */
export function loadEnv(): Env {
  return validate(process.env);
}

/** Nest takes the list of levels to print; LOG_LEVEL names the most verbose one. */
export function logLevelsFrom(level: LogLevel): LogLevel[] {
  return LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1);
}
