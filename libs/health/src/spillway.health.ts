import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
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

  databasePing(database: DatabaseService) {
    return this.health
      .check('database')
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
