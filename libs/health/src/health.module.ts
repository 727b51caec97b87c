import { type DynamicModule, type InjectionToken, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { READINESS_CHECKS, type ReadinessChecks } from './readiness.checks';
import { ShutdownState } from './shutdown.state';
import { SpillwayHealthIndicators } from './spillway.health';

/** `/health/live` and `/health/ready`; each app passes a provider for its readiness checks. */
@Module({})
export class HealthModule {
  static forRoot(readiness: {
    inject: InjectionToken[];
    useFactory: (...deps: never[]) => ReadinessChecks;
  }): DynamicModule {
    return {
      module: HealthModule,
      global: true,
      imports: [TerminusModule.forRoot({ errorLogStyle: 'json', logger: false })],
      controllers: [HealthController],
      providers: [
        ShutdownState,
        SpillwayHealthIndicators,
        { provide: READINESS_CHECKS, inject: readiness.inject, useFactory: readiness.useFactory },
      ],
      exports: [ShutdownState, SpillwayHealthIndicators],
    };
  }
}
