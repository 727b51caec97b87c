import { Module } from '@nestjs/common';
import { AofStartupCheck } from './aof-startup.check';
import { CommitWatch } from './commit-watch';
import { ConfirmingConnection } from './confirming-connection';
import { DurableWrites } from './durable-writes.service';
import { WriteDurability } from './write-durability';

/** The durability levels of writes (docs/guarantees.md#durability-levels). */
@Module({
  providers: [AofStartupCheck, CommitWatch, ConfirmingConnection, DurableWrites, WriteDurability],
  exports: [ConfirmingConnection, DurableWrites, WriteDurability],
})
export class DurabilityModule {}
