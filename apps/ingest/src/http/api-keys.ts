import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { createHash, timingSafeEqual } from 'node:crypto';
import { type ApiKeyGrant, ingestConfig } from '@app/config';

/** A configured API key as ingest holds it: the SHA-256 of the key, never the key, and what it may do. */
export interface KnownKey {
  /** `key<n>`, its place in INGEST_API_KEYS from 1: names it in Redis (rate limit) without giving anything away */
  readonly id: string;
  readonly digest: Buffer;
  /** undefined: every collection */
  readonly collections?: readonly string[];
  readonly readOnly: boolean;
}

const BEARER = /^Bearer\s+(\S+)$/i;

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Methods that read; every other method of /v1 writes (PUT, PATCH, DELETE, POST, _bulk included). */
const READ_METHODS = new Set(['GET', 'HEAD']);

const COLLECTION_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** The configured API keys (INGEST_API_KEYS), and which of them a request presents. */
@Injectable()
export class ApiKeys {
  private readonly known: readonly KnownKey[];

  constructor(@Inject(ingestConfig.KEY) cfg: ConfigType<typeof ingestConfig>) {
    this.known = cfg.apiKeys.map((grant: ApiKeyGrant, index) => ({
      id: `key${index + 1}`,
      digest: sha256(grant.key),
      collections: grant.collections,
      readOnly: grant.readOnly,
    }));
  }

  /** False when INGEST_API_KEYS is unset: /v1 is open. */
  get required(): boolean {
    return this.known.length > 0;
  }

  /**
   * The key an `Authorization: Bearer <key>` header presents, or undefined. The presented key is hashed and its
   * fixed-length digest compared with every configured key's, with no early exit, so neither the time taken nor
   * its changes with the presented key's length tell which key matched, how many there are or how long they are.
   */
  identify(authorization: string | undefined): KnownKey | undefined {
    const presented = BEARER.exec(authorization ?? '')?.[1];
    if (presented === undefined) {
      return undefined;
    }
    const digest = sha256(presented);
    let match: KnownKey | undefined;
    for (const key of this.known) {
      const same = timingSafeEqual(key.digest, digest);
      match = same ? key : match;
    }

    return match;
  }
}

/** Why `key` may not make a request of `method` on `collection`, or undefined when it may (the problem's detail). */
export function refusalOf(key: KnownKey, collection: string | undefined, method: string): string | undefined {
  if (key.collections !== undefined && (collection === undefined || !key.collections.includes(collection))) {
    // Only a name a collection could have is repeated: the path is the client's, and may hold anything.
    const named = collection !== undefined && COLLECTION_NAME.test(collection) ? `collection ${collection}` : 'it';

    return `this API key may not use ${named}`;
  }
  if (key.readOnly && !READ_METHODS.has(method.toUpperCase())) {
    return 'this API key may only read';
  }

  return undefined;
}
