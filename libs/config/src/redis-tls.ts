import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { pemFileProblem } from './pem-files';

/** The variables of Redis's TLS. */
export interface RedisTlsEnv {
  REDIS_URL: string;
  /** PEM file of the CA certificates that verify the Redis servers' (and Sentinels') certificates */
  REDIS_TLS_CA_FILE?: string;
}

/**
 * What is wrong with Redis's TLS settings: REDIS_TLS_CA_FILE without a `rediss://` REDIS_URL (it would be ignored,
 * and the connection plain), or a CA file that cannot be read or holds no certificate.
 */
export function redisTlsProblems(env: RedisTlsEnv): string[] {
  const file = env.REDIS_TLS_CA_FILE;
  if (file === undefined) {
    return [];
  }
  if (!/^rediss:/i.test(env.REDIS_URL)) {
    return ['REDIS_TLS_CA_FILE is set but REDIS_URL is not rediss://: use rediss:// to reach Redis over TLS'];
  }
  const problem = pemFileProblem(file, 'certificate');

  return problem === undefined ? [] : [`REDIS_TLS_CA_FILE: ${problem}`];
}

/**
 * ioredis's `tls` options for a `rediss://` REDIS_URL (undefined for `redis://`): the server's certificate is
 * verified, host name included, against the CA certificates of `tlsCaFile` (REDIS_TLS_CA_FILE), else against Node.js's
 * own CA list (and NODE_EXTRA_CA_CERTS). The file is read at each connection's creation, so a new connection (a
 * restarted process, a sink's new partition loop) follows a renewed CA file.
 */
export function redisTlsOptions(settings: { tls: boolean; tlsCaFile?: string }): ConnectionOptions | undefined {
  if (!settings.tls) {
    return undefined;
  }

  return settings.tlsCaFile === undefined ? {} : { ca: readFileSync(settings.tlsCaFile, 'utf8') };
}
