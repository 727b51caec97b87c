// The shape of a run's results: what bench/results/<date>.json holds, and what the report and the chart read.
import type { UnexpectedExit } from '../../tools/local-stack';
import type { E2eResult } from './e2e-phase';
import type { IngestResult } from './ingest-phase';
import type { MappedResult } from './mapped-phase';
import type { RawMariadbResult } from './raw-mariadb';
import type { BenchOptions } from './options';
import type { RawPostgresResult } from './raw-pg';
import type { RawRedisResult } from './raw-redis';
import type { SinkResult } from './sink-phase';

/** RSS at the end of a phase, in MB. */
export interface MemoryRow {
  phase: string;
  ingestMb: number | null;
  sinksMb: (number | null)[];
  other: string;
}

/** One target of issue 4; `pass` null when this run did not measure it. */
export interface Target {
  target: string;
  measured: string;
  pass: boolean | null;
}

export interface BenchResults {
  /** local date YYYY-MM-DD, the files' name */
  date: string;
  startedAt: string;
  options: BenchOptions;
  /** `postgres` holds PostgreSQL's version on a PostgreSQL run, `mariadb` MariaDB's on a MariaDB run */
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGb: number;
    node: string;
    redis: string;
    postgres?: string;
    mariadb?: string;
  };
  /** load averages (1, 5, 15 minutes) and `uptime`'s line at the start and the end */
  load: { start: number[]; end: number[]; uptimeStart: string; uptimeEnd: string };
  settings: Record<string, string>;
  memory: MemoryRow[];
  /** the database's raw ceiling under the name of the run's database */
  raw?: { redis: RawRedisResult; postgres?: RawPostgresResult; mariadb?: RawMariadbResult };
  ingest?: IngestResult;
  sink?: SinkResult;
  mapped?: MappedResult;
  e2e?: E2eResult;
  unexpectedExits?: UnexpectedExit[];
  elapsedS?: number;
  targets?: Target[];
}

/** The run's database, as the report names it. */
export const databaseLabel = (r: Pick<BenchResults, 'options'>): string =>
  r.options.database === 'mariadb' ? 'MariaDB' : 'PostgreSQL';

/** The version of the run's database. */
export const databaseVersion = (r: Pick<BenchResults, 'machine' | 'options'>): string =>
  (r.options.database === 'mariadb' ? r.machine.mariadb : r.machine.postgres) ?? '';

/** The raw multi-row upsert ceiling the sink drain is held to, in rows a second, whichever the database. */
export const upsertCeiling = (r: Pick<BenchResults, 'raw'>): number | undefined =>
  r.raw?.postgres?.ceiling.upsertRowsPerSec ?? r.raw?.mariadb?.ceiling.upsertRowsPerSec;
