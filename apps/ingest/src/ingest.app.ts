import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadEnv, logLevelsFrom } from '@app/config';
import {
  answerClientError,
  answerFrameworkError,
  REQUEST_TIMEOUT_MS,
  TIMEOUT_CHECK_INTERVAL_MS,
} from './http/client-errors';
import { assertFollowsRules, BODY_RULES } from './documents/document-rules';
import { parseJsonBody } from './http/json-body.parser';
import { ProblemDetailsFilter } from './http/problem-details.filter';
import { IngestModule } from './ingest.module';

/**
 * Ids may be 200 characters long and Fastify's default parameter limit is 100. Any URL that fits in Node's 16 KiB
 * of request line and headers reaches the id check, which answers 400, instead of Fastify's undocumented 414.
 */
const MAX_PARAM_LENGTH = 16 * 1024;

/** Builds the ingest app (not listening), for main.ts and for tests. */
export async function createIngestApp(): Promise<NestFastifyApplication> {
  const env = loadEnv();
  const adapter = new FastifyAdapter({
    bodyLimit: env.INGEST_MAX_BODY,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Node only enforces the request timeout reliably when the server is created with it (and a headers timeout no
    // longer than it); Fastify's own option sets it afterwards, so both are given.
    requestTimeout: REQUEST_TIMEOUT_MS,
    http: {
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
    logger: false,
  });
  const fastify = adapter.getInstance();
  // Only JSON bodies are accepted (text/plain would let other bodies through), read by one parser, then held to the
  // body rules before any code recurses into them; each document in a body is checked whole before it is written.
  fastify.removeContentTypeParser(['text/plain', 'application/json']);
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      const value = parseJsonBody(body as Buffer, request.headers['content-type']);
      assertFollowsRules(value, BODY_RULES);
      done(null, value);
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // bodyParser: false keeps Nest from adding its form parser: only JSON bodies are accepted.
  const app = await NestFactory.create<NestFastifyApplication>(IngestModule, adapter, {
    bodyParser: false,
    logger: new ConsoleLogger({ json: true, logLevels: logLevelsFrom(env.LOG_LEVEL) }),
  });
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.enableShutdownHooks();

  return app;
}
