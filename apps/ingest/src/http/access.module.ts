import { Global, Module } from '@nestjs/common';
import { ApiKeys } from './api-keys';
import { RateLimitHook } from './rate-limit.hook';

/** Who may call /v1 and how often: the API keys (ApiKeyGuard checks them) and the rate limit. */
@Global()
@Module({
  providers: [ApiKeys, RateLimitHook],
  exports: [ApiKeys],
})
export class AccessModule {}
