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

    const failing = this.consumers.failingConnections();

    return failing.length === 0
      ? session.up()
      : session.down({ message: `database writes are failing on connection ${failing.join(', ')}; backing off` });
  }
}
