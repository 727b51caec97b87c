import { parseArgs } from 'node:util';
import { DATABASE_KINDS, type DatabaseKind } from '../local-stack';

export const USAGE = `Usage: npm start [-- flags]

Runs the whole of Spillway on this machine: Redis (AOF, fsync every second) and a database on loopback with their
data and logs under .data/, then ingest (PORT, default 3000) and SINK_REPLICAS sinks (default 2), and prints the
URLs. Installs the Debian packages of the servers with apt-get when missing (as root; otherwise it prints the
command) and builds the apps when dist/ is missing or older than the sources. Ctrl-C stops the apps first (each sink
commits and acks the batch it holds), then the servers.

  --db postgres   PostgreSQL on port 5432 (or a free one), data in .data/postgres (the default)
  --db mariadb    MariaDB instead, on port 3306 (or a free one), data in .data/mariadb: ingest and the sinks
                  write to it through DATABASE_URL=mysql://spillway:spillway@127.0.0.1:<port>/spillway
  -h, --help      this text

REDIS_URL and DATABASE_URL, when set, name servers to use instead of local ones (DATABASE_URL's scheme,
postgres:// or mysql:// / mariadb://, then says which database it is, and --db must agree with it).
`;

export interface StartOptions {
  db: DatabaseKind;
  /** --db was given */
  dbGiven: boolean;
}

/** The options of npm start, or undefined for --help; throws on a bad flag. */
export function parseStartOptions(argv: string[]): StartOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: { db: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) return undefined;
  const given = values.db ?? 'postgres';
  const db = DATABASE_KINDS.find((kind) => kind === given);
  if (db === undefined) throw new Error(`--db must be ${DATABASE_KINDS.join(' or ')}, got "${given}"`);

  return { db, dbGiven: values.db !== undefined };
}
