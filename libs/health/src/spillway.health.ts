import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DEFAULT_CONNECTION } from '@app/contracts';
import { DatabaseService } from '@app/persistence';
import { assertClusterServing, isCluster, REDIS_CLIENT, type RedisClient, redisTlsFailure } from '@app/redis';
import { ShutdownState } from './shutdown.state';

const CHECK_TIMEOUT_MS = 1000;
/** Within the check's timeout, so that a master that does not answer is named. */
const CLUSTER_NODE_TIMEOUT_MS = 800;

/** The health indicators both apps compose their readiness from. */
@Injectable()
export class SpillwayHealthIndicators {
  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly shutdown: ShutdownState,
  ) {}

  /**
   * One server answers PING; a Redis Cluster serves every slot (each master answers, none sees the cluster down): a
   * write to a slot without a master would fail, so the process is not ready.
   */
  redisPing() {
    const { redis } = this;

    return this.health
      .check('redis')
      .attempt(async () => {
        const tlsFailure = redisTlsFailure(redis);
        if (tlsFailure !== undefined) {
          throw new Error(tlsFailure);
        }
        if (isCluster(redis)) {
          await assertClusterServing(redis, CLUSTER_NODE_TIMEOUT_MS);
        } else {
          await redis.ping();
        }
      })
      .withTimeout(CHECK_TIMEOUT_MS);
  }

  /** The default connection's database is `database`; another connection's is `database:<name>`. */
  databasePing(database: DatabaseService, connection = DEFAULT_CONNECTION) {
    return this.health
      .check(connection === DEFAULT_CONNECTION ? 'database' : `database:${connection}`)
      .attempt(async () => {
        if (!database.isConnected) {
          const problem = database.connectionProblem;
          throw new Error(problem === undefined ? 'not connected' : `not connected: ${problem}`);
        }
        await database.dataSource.query('SELECT 1');
      })
      .withTimeout(CHECK_TIMEOUT_MS);
  }

  notDraining() {
    const session = this.health.check('shutdown');

    return this.shutdown.isDraining ? session.down({ message: 'draining' }) : session.up();
  }
}
