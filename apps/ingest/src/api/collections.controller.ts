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
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Collection } from '@app/collections';
import { DocumentsService, type WriteResult } from '../documents/documents.service';
import { DURABILITY_HEADER } from '../durability/durability-header';
import { WriteDurability } from '../durability/write-durability';
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
    private readonly durability: WriteDurability,
  ) {}

  @Put(':id')
  @HttpCode(HttpStatus.ACCEPTED)
  put(
    @Param('collection', CollectionPipe) collection: Collection,
    @Param('id', IdPipe) id: string,
    @Body() body: unknown,
    @Headers(DURABILITY_HEADER) durability: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('if-match') ifMatch?: string,
  ): Promise<WriteResult> {
    requireKind(collection, 'document');

    return this.durability.around(collection, durability, reply, (level) =>
      this.documents.put(collection, id, body, parseIfMatch(ifMatch), level),
    );
  }

  @Patch(':id')
  @HttpCode(HttpStatus.ACCEPTED)
  patch(
    @Param('collection', CollectionPipe) collection: Collection,
    @Param('id', IdPipe) id: string,
    @Body() body: unknown,
    @Headers(DURABILITY_HEADER) durability: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('if-match') ifMatch?: string,
  ): Promise<WriteResult> {
    requireKind(collection, 'document');

    return this.durability.around(collection, durability, reply, (level) =>
      this.documents.patch(collection, id, body, parseIfMatch(ifMatch), level),
    );
  }

  @Delete(':id')
  @HttpCode(HttpStatus.ACCEPTED)
  remove(
    @Param('collection', CollectionPipe) collection: Collection,
    @Param('id', IdPipe) id: string,
    @Headers(DURABILITY_HEADER) durability: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('if-match') ifMatch?: string,
  ): Promise<WriteResult> {
    requireKind(collection, 'document');

    return this.durability.around(collection, durability, reply, (level) =>
      this.documents.remove(collection, id, parseIfMatch(ifMatch), level),
    );
  }

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  create(
    @Param('collection', CollectionPipe) collection: Collection,
    @Body() body: unknown,
    @Headers(DURABILITY_HEADER) durability: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    return this.durability.around(collection, durability, reply, (level) =>
      collection.kind === 'event'
        ? this.events.append(collection, body, level)
        : this.documents.create(collection, body, level),
    );
  }

  @Post('_bulk')
  @HttpCode(HttpStatus.OK)
  writeBulk(
    @Param('collection', CollectionPipe) collection: Collection,
    @Body() body: unknown,
    @Headers(DURABILITY_HEADER) durability: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ results: BulkItemResult[] }> {
    return this.durability.around(collection, durability, reply, (level) => this.bulk.write(collection, body, level));
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
