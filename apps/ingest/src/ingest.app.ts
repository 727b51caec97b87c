import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadEnv, logLevelsFrom } from '@app/config';
import { ProblemDetailsFilter } from './http/problem-details.filter';
import { IngestModule } from './ingest.module';

const MAX_PARAM_LENGTH = 1000;

/** Builds the ingest app (not listening), for main.ts and for tests. */
export async function createIngestApp(): Promise<NestFastifyApplication> {
  const env = loadEnv();
  // Ids may be 200 characters long; Fastify's default parameter limit is 100.
  const adapter = new FastifyAdapter({ bodyLimit: env.INGEST_MAX_BODY, routerOptions: { maxParamLength: MAX_PARAM_LENGTH }, logger: false });
  // Only JSON bodies are accepted; Fastify's text/plain parser would let other bodies through.
  adapter.getInstance().removeContentTypeParser('text/plain');
  // bodyParser: false keeps Nest from adding its form parser: only JSON bodies are accepted.
  const app = await NestFactory.create<NestFastifyApplication>(IngestModule, adapter, {
    bodyParser: false,
    logger: new ConsoleLogger({ json: true, logLevels: logLevelsFrom(env.LOG_LEVEL) }),
  });
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.enableShutdownHooks();

  return app;
}
