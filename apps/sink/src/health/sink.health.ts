import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { StreamConsumerService } from '../consumer/stream-consumer.service';

/** Down while the last write of some loop failed for a database reason (it is backing off). */
@Injectable()
export class SinkHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly consumers: StreamConsumerService,
  ) {}

  writing() {
    const session = this.health.check('writer');

    return this.consumers.isWriting
      ? session.up()
      : session.down({ message: 'database writes are failing; backing off' });
  }
}
