import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { DEFAULT_CONNECTION } from '@app/contracts';
import { DatabaseService } from '@app/persistence';
import { REDIS_CLIENT } from '@app/redis';
import { ShutdownState } from './shutdown.state';

const CHECK_TIMEOUT_MS = 1000;

/** The health indicators both apps compose their readiness from. */
@Injectable()
export class SpillwayHealthIndicators {
  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly shutdown: ShutdownState,
  ) {}

  redisPing() {
    return this.health
      .check('redis')
      .attempt(async () => {
        await this.redis.ping();
      })
      .withTimeout(CHECK_TIMEOUT_MS);
  }

  /** The default connection's database is `database`; another connection's is `database:<name>`. */
  databasePing(database: DatabaseService, connection = DEFAULT_CONNECTION) {
    return this.health
      .check(connection === DEFAULT_CONNECTION ? 'database' : `database:${connection}`)
      .attempt(async () => {
        if (!database.isConnected) {
          throw new Error('not connected');
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
