import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ShutdownState } from './shutdown.state';
import { SpillwayHealthIndicators } from './spillway.health';

/** Terminus and the indicators both apps compose their `/health/ready` from. */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json', logger: false })],
  providers: [ShutdownState, SpillwayHealthIndicators],
  exports: [TerminusModule, ShutdownState, SpillwayHealthIndicators],
})
export class HealthModule {}
