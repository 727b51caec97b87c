import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { SpillwayMetrics } from '@app/metrics';

/** Counts and times every request in Fastify's onResponse hook, labelled by route pattern, not by URL. */
@Injectable()
export class RequestMetricsHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: SpillwayMetrics,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const labels = { route, method: request.method };
      this.metrics.ingestRequests.inc({ ...labels, status: String(reply.statusCode) });
      this.metrics.ingestRequestDuration.observe(labels, reply.elapsedTime / 1000);
    });
  }
}
