/**
 * Node's codes for a certificate it could not verify (OpenSSL's X509_V_ERR_* names, and the host name check).
 * mysql2 replaces the code of any TLS error by HANDSHAKE_SSL_ERROR, so the message is read too.
 */
const VERIFICATION_CODE =
  /^(UNABLE_TO_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|INVALID_CA$|INVALID_PURPOSE$|PATH_LENGTH_EXCEEDED$|HOSTNAME_MISMATCH$|ERR_TLS_CERT_ALTNAME_INVALID$|ERROR_IN_CERT_)/;
const VERIFICATION_MESSAGE = /certificate|self[- ]signed|altnames/i;
/** The server answered that it does not speak TLS: mysql2's code, node-postgres's message. */
const NO_TLS_CODE = 'HANDSHAKE_NO_SSL_SUPPORT';
const NO_TLS_MESSAGE = /server does not support SSL/i;
/** Any other failure of the TLS handshake. */
const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|HANDSHAKE_SSL_ERROR$)/;

const codeOf = (error: Error): string => String((error as NodeJS.ErrnoException).code ?? '');

/**
 * One line saying that TLS with a server failed, and why, for a log line and for readiness: `TLS verification
 * failed for Redis 127.0.0.1:6380: self-signed certificate in certificate chain (SELF_SIGNED_CERT_IN_CHAIN)`.
 * Undefined when the error is no TLS failure. `server` names it (`PostgreSQL 10.0.0.5:5432`); the error's own
 * message holds no credential (TLS fails before any is sent).
 */
export function tlsFailureMessage(server: string, error: unknown): string | undefined {
  if (!(error instanceof Error)) {
    return undefined;
  }
  const code = codeOf(error);
  const detail = code === '' || code === 'HANDSHAKE_SSL_ERROR' ? error.message : `${error.message} (${code})`;
  if (VERIFICATION_CODE.test(code) || (code === 'HANDSHAKE_SSL_ERROR' && VERIFICATION_MESSAGE.test(error.message))) {
    return `TLS verification failed for ${server}: ${detail}`;
  }
  if (code === NO_TLS_CODE || NO_TLS_MESSAGE.test(error.message)) {
    return `TLS failed for ${server}: the server does not offer TLS, and Spillway never falls back to plain TCP`;
  }
  if (TLS_CODE.test(code)) {
    return `TLS failed for ${server}: ${detail}`;
  }

  return error.cause === undefined ? undefined : tlsFailureMessage(server, error.cause);
}

/** `host:port` of a URL, for {@link tlsFailureMessage}; never its credentials. */
export function serverOf(url: string, defaultPort: number): string {
  try {
    const parsed = new URL(url);

    return `${parsed.hostname}:${parsed.port || defaultPort}`;
  } catch {
    return 'the server';
  }
}
