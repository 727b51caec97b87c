import type { ExecutionContext } from '@nestjs/common';
import { parseApiKeys } from '@app/config';
import { IngestException, IngestExceptionCode } from '../ingest.exception';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeys } from './api-keys';

const KEYS = 'all-rw,reader:*:ro,orders-rw:orders+carts,orders-ro:orders:ro';

function guardFor(setting: string | undefined): ApiKeyGuard {
  const cfg = { apiKeys: parseApiKeys(setting).grants } as ConstructorParameters<typeof ApiKeys>[0];

  return new ApiKeyGuard(new ApiKeys(cfg));
}

function contextOf(method: string, collection: string, key?: string): ExecutionContext {
  const request = { method, params: { collection }, headers: key ? { authorization: `Bearer ${key}` } : {} };

  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

function outcome(sut: ApiKeyGuard, context: ExecutionContext): 'allowed' | IngestExceptionCode {
  try {
    sut.canActivate(context);

    return 'allowed';
  } catch (error) {
    if (error instanceof IngestException) {
      expect(error.message).not.toMatch(/all-rw|reader|orders-r/);

      return error.code;
    }
    throw error;
  }
}

describe(ApiKeyGuard.name, () => {
  const sut = guardFor(KEYS);

  it('lets every request through when INGEST_API_KEYS is unset', () => {
    expect(outcome(guardFor(undefined), contextOf('PUT', 'orders'))).toBe('allowed');
  });

  it.each([
    ['PUT', 'orders', undefined, IngestExceptionCode.UNAUTHORIZED],
    ['GET', 'orders', 'all-r', IngestExceptionCode.UNAUTHORIZED],
    ['GET', 'orders', 'all-rw-', IngestExceptionCode.UNAUTHORIZED],
    ['PUT', 'sessions', 'all-rw', 'allowed'],
    ['GET', 'sessions', 'reader', 'allowed'],
    ['PUT', 'sessions', 'reader', IngestExceptionCode.FORBIDDEN],
    ['POST', 'sessions', 'reader', IngestExceptionCode.FORBIDDEN],
    ['DELETE', 'sessions', 'reader', IngestExceptionCode.FORBIDDEN],
    ['PATCH', 'carts', 'orders-rw', 'allowed'],
    ['POST', 'orders', 'orders-rw', 'allowed'],
    ['GET', 'sessions', 'orders-rw', IngestExceptionCode.FORBIDDEN],
    ['GET', 'orders', 'orders-ro', 'allowed'],
    ['PUT', 'orders', 'orders-ro', IngestExceptionCode.FORBIDDEN],
    ['GET', 'carts', 'orders-ro', IngestExceptionCode.FORBIDDEN],
  ] as const)('%s /v1/%s with key %j: %s', (method, collection, key, expected) => {
    expect(outcome(sut, contextOf(method, collection, key))).toBe(expected);
  });

  it('names the collection a scoped key may not use, and nothing the path holds that is not a name', () => {
    expect(() => sut.canActivate(contextOf('GET', 'sessions', 'orders-ro'))).toThrow(
      'this API key may not use collection sessions',
    );
    expect(() => sut.canActivate(contextOf('GET', 'Bearer x', 'orders-ro'))).toThrow('this API key may not use it');
  });
});

describe(ApiKeys.name, () => {
  it('compares the digest of the key presented with every configured key, and names the match by place', () => {
    const cfg = { apiKeys: parseApiKeys('k1,k2,k3').grants } as ConstructorParameters<typeof ApiKeys>[0];
    const sut = new ApiKeys(cfg);

    expect(sut.identify('Bearer k2')?.id).toBe('key2');
    expect(sut.identify('bearer   k3')?.id).toBe('key3');
    expect(sut.identify('Bearer k')).toBeUndefined();
    expect(sut.identify('Basic k1')).toBeUndefined();
    expect(sut.identify(undefined)).toBeUndefined();
    expect(JSON.stringify(sut)).not.toMatch(/k1|k2|k3/);
  });
});
