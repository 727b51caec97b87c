import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadEnv, logLevelsFrom } from '@app/config';
import { SinkModule } from './sink.module';

/** Builds the sink app (HTTP only for /metrics and /health), for main.ts and for tests. */
export async function createSinkApp(): Promise<NestFastifyApplication> {
  const env = loadEnv();
  const app = await NestFactory.create<NestFastifyApplication>(SinkModule, new FastifyAdapter({ logger: false }), {
    logger: new ConsoleLogger({ json: true, logLevels: logLevelsFrom(env.LOG_LEVEL) }),
  });
  app.enableShutdownHooks();

  return app;
}
