import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { appConfig, ingestConfig, postgresConfig, redisConfig, sinkConfig } from './app.config';
import { validate } from './env.schema';

/** Validates the environment once at boot and hands out typed slices. */
@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      cache: true,
      ignoreEnvFile: true,
      validate,
      load: [appConfig, redisConfig, postgresConfig, ingestConfig, sinkConfig],
    }),
  ],
})
export class SpillwayConfigModule {}
