import { Module } from '@nestjs/common';
import { AofStartupCheck } from './aof-startup.check';
import { CommitWatch } from './commit-watch';
import { ConfirmingConnection } from './confirming-connection';
import { DurabilityInterceptor } from './durability.interceptor';
import { DurableWrites } from './durable-writes.service';

/** The durability levels of writes (docs/guarantees.md#durability-levels). */
@Module({
  providers: [AofStartupCheck, CommitWatch, ConfirmingConnection, DurabilityInterceptor, DurableWrites],
  exports: [ConfirmingConnection, DurabilityInterceptor, DurableWrites],
})
export class DurabilityModule {}
