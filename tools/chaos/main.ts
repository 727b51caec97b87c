// Chaos run: a whole Spillway on loopback under seeded traffic and seeded faults, then a check that the database
// (PostgreSQL, or MariaDB with --db mariadb) holds exactly what Redis acknowledged (one redis-server, a Redis Cluster
// with --cluster, or a master and its replica behind Sentinels with --sentinel). Usage: npm run chaos -- --help
import { DURABILITY_LEVELS, isDurability, MAX_PARTITIONS } from '@app/contracts';
import type { DatabaseKind } from '../local-stack';
import { runTool, stringFlags } from '../shared/cli';
import { DATABASE_FLAG_HELP, readDatabaseFlag } from './database-flag';
import { faultKindsFor, type FaultKind, isFaultKind, REDIS_KIND_LABELS, type RedisKind } from './faults';
import { formatChaosReport } from './report';
import { CLUSTER_PARTITIONS, runChaos } from './runner';

const USAGE = `Usage: npm run chaos -- [flags]

Starts its own Redis (AOF, appendfsync always), PostgreSQL or MariaDB, one ingest and N sinks on loopback, sends
seeded traffic while injecting seeded faults, then drains and checks that the tables hold exactly what was
acknowledged.

  --db KIND          ${DATABASE_FLAG_HELP}, and its faults
  --cluster          a local Redis Cluster (3 masters, 3 replicas) instead of one redis-server, and its faults
                     in place of redis-crash; acknowledged writes that a killed master had not yet replicated are
                     counted as "lost by failover", any other loss fails the run
  --sentinel         a master and its replica watched by 3 Sentinels instead of one redis-server, which the apps
                     find through REDIS_SENTINELS; sentinel-failover in place of redis-crash: the master's SIGKILL,
                     the Sentinels promote the replica, the old master comes back as its replica. Acknowledged
                     writes the kill lost are counted as "lost by failover" as on a cluster
  --durability L     send \`Durability: L\` with every write (${DURABILITY_LEVELS.join(', ')}); a write whose answer
                     names a level other than memory must never be lost, even by a failover
  --partitions N     each collection's partitions (default ${CLUSTER_PARTITIONS} with --cluster, else 1)
  --replica-lag      with --cluster or --sentinel: every other master-kill or sentinel-failover first pauses the
                     master's replica and cuts its link, 300 ms before the SIGKILL, so that the kill loses what the
                     master acknowledged meanwhile
  --duration S       seconds of traffic and faults (default 120)
  --finish-round     go on after --duration until every fault kind of the round under way has struck
  --replicas N       sink replicas (default 4)
  --clients N        concurrent HTTP clients (default 32)
  --ids N            document ids (default 2000; 1% of them take half the writes)
  --rate N           requests per second at most (default: as fast as answered)
  --faults LIST      comma-separated kinds or "none"; default all the database's and Redis's:
                       postgres: ${faultKindsFor('postgres').join(', ')}
                       mariadb:  ${faultKindsFor('mariadb').join(', ')}
                       --cluster: ${faultKindsFor('postgres', 'cluster')
                         .filter((kind) => !faultKindsFor('postgres').includes(kind))
                         .join(', ')} in place of redis-crash
                       --sentinel: ${faultKindsFor('postgres', 'sentinel')
                         .filter((kind) => !faultKindsFor('postgres').includes(kind))
                         .join(', ')} in place of redis-crash
                     (pg-stop-fast: pg_ctl stop -m fast, pg-stop-immediate: -m immediate; mariadb-shutdown:
                     mariadb-admin shutdown, mariadb-kill: SIGKILL to mariadbd; each restarts it after 1-5 s;
                     cluster-failover: CLUSTER FAILOVER on a replica; master-kill: SIGKILL of a master, its replica
                     takes over, it comes back as a replica; reshard: a partition's slot moved to another master,
                     then redis-cli --cluster reshard of 50-400 slots, under load)
  --poison N         entries made undeliverable on purpose (default 4)
  --claim-idle MS    SINK_CLAIM_IDLE_MS of the sinks (default 3000)
  --seed N           replays a run's operations and fault schedule (default random, printed)
  --json FILE        also write the full report as JSON
  --keep             keep the data folder
  -h, --help         this text

Exit codes: 0 passed, 1 failed (mismatches, crashes or answers outside the contract), 2 bad usage.
`;

/** The --faults list: kinds of the database's and Redis's, "none", or (not given) all of them. */
function readFaults(list: string, database: DatabaseKind, redis: RedisKind): FaultKind[] {
  const known = faultKindsFor(database, redis);
  if (list === '') return known;
  const faults = list === 'none' ? [] : list.split(',').map((f) => f.trim());
  const unknown = faults.filter((f) => !isFaultKind(f) || !known.includes(f));
  if (unknown.length) {
    const where = `${database} on ${REDIS_KIND_LABELS[redis]}`;
    throw new Error(`unknown fault kind ${unknown.join(', ')} for ${where}; known: ${known.join(', ')}`);
  }

  return faults.filter(isFaultKind);
}

runTool({
  name: 'chaos',
  usage: USAGE,
  flags: {
    ...stringFlags({
      duration: '120',
      replicas: '4',
      clients: '32',
      ids: '2000',
      rate: undefined,
      db: 'postgres',
      faults: undefined,
      poison: '4',
      'claim-idle': '3000',
      partitions: undefined,
      durability: undefined,
    }),
    keep: { type: 'boolean', default: false },
    cluster: { type: 'boolean', default: false },
    sentinel: { type: 'boolean', default: false },
    'finish-round': { type: 'boolean', default: false },
    'replica-lag': { type: 'boolean', default: false },
  },
  read: (flags) => {
    const database = readDatabaseFlag(flags.string('db'));
    const cluster = flags.boolean('cluster');
    const sentinel = flags.boolean('sentinel');
    if (cluster && sentinel) throw new Error('--cluster and --sentinel: choose one');
    const faults = readFaults(flags.string('faults'), database, cluster ? 'cluster' : sentinel ? 'sentinel' : 'server');
    const durability = flags.string('durability');
    if (durability !== '' && !isDurability(durability)) {
      throw new Error(`--durability must be one of ${DURABILITY_LEVELS.join(', ')}, not ${durability}`);
    }

    return {
      database,
      cluster,
      sentinel,
      ...(isDurability(durability) ? { durability } : {}),
      partitions: flags.optionalInt('partitions', 1, MAX_PARTITIONS),
      duration: flags.int('duration', 5, 3600),
      finishFaultRound: flags.boolean('finish-round'),
      replicaLag: flags.boolean('replica-lag'),
      replicas: flags.int('replicas', 1, 16),
      clients: flags.int('clients', 1, 512),
      ids: flags.int('ids', 100, 1_000_000),
      rate: flags.optionalInt('rate', 1, 100_000),
      faults,
      poison: flags.int('poison', 0, 100),
      claimIdleMs: flags.int('claim-idle', 500, 600_000),
      drainTimeoutMs: 600_000,
      keep: flags.boolean('keep'),
    };
  },
  async run(options) {
    const report = await runChaos({ ...options, onProgress: (line) => process.stderr.write(`chaos: ${line}\n`) });
    process.stdout.write(formatChaosReport(report));

    return report;
  },
});
