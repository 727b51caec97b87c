import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadEnv } from '@app/config';
import { ProblemDetailsFilter } from './http/problem-details.filter';
import { IngestModule } from './ingest.module';

/** Builds the ingest app (not listening), for main.ts and for tests. */
export async function createIngestApp(): Promise<NestFastifyApplication> {
  const env = loadEnv();
  const adapter = new FastifyAdapter({ bodyLimit: env.INGEST_MAX_BODY, logger: false });
  // Only JSON bodies are accepted; Fastify's text/plain parser would let other bodies through.
  adapter.getInstance().removeContentTypeParser('text/plain');
  const app = await NestFactory.create<NestFastifyApplication>(IngestModule, adapter, {
    logger: new ConsoleLogger({ json: true, logLevels: logLevelsFrom(env.LOG_LEVEL) }),
  });
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.enableShutdownHooks();

  return app;
}

const LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;

/** Nest takes the list of levels to print; LOG_LEVEL names the most verbose one. */
export function logLevelsFrom(level: (typeof LEVELS)[number]): (typeof LEVELS)[number][] {
  return LEVELS.slice(0, LEVELS.indexOf(level) + 1);
}
