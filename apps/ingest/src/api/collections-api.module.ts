import { Module } from '@nestjs/common';
import { DocumentsService } from '../documents/documents.service';
import { DurabilityModule } from '../durability/durability.module';
import { EventsService } from '../events/events.service';
import { ApiKeyGuard } from '../http/api-key.guard';
import { BacklogGuard } from '../store/backlog.guard';
import { DocumentStore } from '../store/document-store';
import { DatabaseStateReader } from '../store/database-state.reader';
import { PartitionCountGate } from '../store/partition-count.gate';
import { BulkService } from './bulk.service';
import { CollectionPipe } from './collection.pipe';
import { CollectionsController } from './collections.controller';
import { ReadsService } from './reads.service';

@Module({
  imports: [DurabilityModule],
  controllers: [CollectionsController],
  providers: [
    ApiKeyGuard,
    BacklogGuard,
    BulkService,
    CollectionPipe,
    DocumentsService,
    DocumentStore,
    EventsService,
    DatabaseStateReader,
    PartitionCountGate,
    ReadsService,
  ],
})
export class CollectionsApiModule {}
