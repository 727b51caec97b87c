import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { appConfig, ingestConfig, databaseConfig, redisConfig, sinkConfig } from './app.config';
import { validate } from './env.schema';

/**
 * Validates the environment once at boot and hands out typed slices. A dynamic module, so that the validation runs
 * when an app's module is put together, not whenever a tool or the CLI imports this library.
 */
@Module({})
export class SpillwayConfigModule {
  static forRoot(): DynamicModule {
    return {
      module: SpillwayConfigModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          cache: true,
          ignoreEnvFile: true,
          validate,
          load: [appConfig, redisConfig, databaseConfig, ingestConfig, sinkConfig],
        }),
      ],
    };
  }
}
