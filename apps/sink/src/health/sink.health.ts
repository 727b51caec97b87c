import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { StreamConsumerService } from '../consumer/stream-consumer.service';

/** Down until the schema is provisioned and the loops run, and while some loop's last write failed (backing off). */
@Injectable()
export class SinkHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly consumers: StreamConsumerService,
  ) {}

  writing() {
    const session = this.health.check('writer');

    if (!this.consumers.isStarted) {
      return session.down({ message: 'tables not provisioned yet' });
    }

    return this.consumers.isWriting
      ? session.up()
      : session.down({ message: 'database writes are failing; backing off' });
  }
}
