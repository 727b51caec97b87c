import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Res,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Collection } from '@app/collections';
import type { Durability } from '@app/contracts';
import { DocumentsService, type WriteResult } from '../documents/documents.service';
import { DurabilityInterceptor, WriteDurability } from '../durability/durability.interceptor';
import { EventsService } from '../events/events.service';
import { ApiKeyGuard } from '../http/api-key.guard';
import { parseIfMatch } from '../http/if-match';
import { BulkService, type BulkItemResult } from './bulk.service';
import { CollectionPipe, IdPipe, requireKind } from './collection.pipe';
import { ReadsService } from './reads.service';

const JSON_TYPE = 'application/json; charset=utf-8';

@Controller('v1/:collection')
@UseGuards(ApiKeyGuard)
export class CollectionsController {
  constructor(
    private readonly documents: DocumentsService,
    private readonly events: EventsService,
    private readonly bulk: BulkService,
    private readonly reads: ReadsService,
  ) {}

  @Put(':id')
  @HttpCode(HttpStatus.ACCEPTED)
  @UseInterceptors(DurabilityInterceptor)
  put(
    @Param('collection', CollectionPipe) collection: Collection,
    @Param('id', IdPipe) id: string,
    @Body() body: unknown,
    @WriteDurability() durability: Durability,
    @Headers('if-match') ifMatch?: string,
  ): Promise<WriteResult> {
    requireKind(collection, 'document');

    return this.documents.put(collection, id, body, parseIfMatch(ifMatch), durability);
  }

  @Patch(':id')
  @HttpCode(HttpStatus.ACCEPTED)
  @UseInterceptors(DurabilityInterceptor)
  patch(
    @Param('collection', CollectionPipe) collection: Collection,
    @Param('id', IdPipe) id: string,
    @Body() body: unknown,
    @WriteDurability() durability: Durability,
    @Headers('if-match') ifMatch?: string,
  ): Promise<WriteResult> {
    requireKind(collection, 'document');

    return this.documents.patch(collection, id, body, parseIfMatch(ifMatch), durability);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.ACCEPTED)
  @UseInterceptors(DurabilityInterceptor)
  remove(
    @Param('collection', CollectionPipe) collection: Collection,
    @Param('id', IdPipe) id: string,
    @WriteDurability() durability: Durability,
    @Headers('if-match') ifMatch?: string,
  ): Promise<WriteResult> {
    requireKind(collection, 'document');

    return this.documents.remove(collection, id, parseIfMatch(ifMatch), durability);
  }

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @UseInterceptors(DurabilityInterceptor)
  create(
    @Param('collection', CollectionPipe) collection: Collection,
    @Body() body: unknown,
    @WriteDurability() durability: Durability,
  ): Promise<WriteResult> {
    return collection.kind === 'event'
      ? this.events.append(collection, body, durability)
      : this.documents.create(collection, body, durability);
  }

  @Post('_bulk')
  @HttpCode(HttpStatus.OK)
  @UseInterceptors(DurabilityInterceptor)
  writeBulk(
    @Param('collection', CollectionPipe) collection: Collection,
    @Body() body: unknown,
    @WriteDurability() durability: Durability,
  ): Promise<{ results: BulkItemResult[] }> {
    return this.bulk.write(collection, body, durability);
  }

  @Get(':id')
  async getOne(
    @Param('collection', CollectionPipe) collection: Collection,
    @Param('id', IdPipe) id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const doc = await this.documents.current(collection, id);
    void reply.header('ETag', `"${doc.version}"`).type(JSON_TYPE);

    return doc.json;
  }

  @Get()
  async getMany(
    @Param('collection', CollectionPipe) collection: Collection,
    @Query('ids') ids: string | string[] | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const body = await this.reads.many(collection, ids);
    void reply.type(JSON_TYPE);

    return body;
  }
}
