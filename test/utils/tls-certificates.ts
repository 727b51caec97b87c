import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** PEM files a TLS test serves and trusts, made with `openssl` in one folder. */
export interface TestCertificates {
  /** the CA that signed the server certificate: the right one to trust */
  caFile: string;
  /** a CA that signed nothing here: trusting it alone must fail verification */
  otherCaFile: string;
  /** the server's certificate, for `localhost` and `127.0.0.1`, signed by caFile's CA */
  certFile: string;
  /** the server's private key (mode 0600) */
  keyFile: string;
}

const openssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
};

/** A self-signed CA certificate (P-256), valid two days: `<name>.pem` and `<name>.key`. */
function makeCa(dir: string, name: string, subject: string): void {
  openssl(
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', subject],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ],
    dir,
  );
}

/**
 * Makes, in `dir`, a CA, a server certificate it signs for `localhost` and `127.0.0.1` (the names the tests connect
 * to), and a second CA that signed nothing. The servers and the apps read them; nothing leaves the folder.
 */
export function makeTestCertificates(dir: string): TestCertificates {
  mkdirSync(dir, { recursive: true });
  makeCa(dir, 'ca', '/CN=Spillway test CA');
  makeCa(dir, 'other-ca', '/CN=Spillway other test CA');
  openssl(
    [
      ...['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'],
    ],
    dir,
  );
  writeFileSync(
    join(dir, 'server.ext'),
    [
      'subjectAltName = DNS:localhost, IP:127.0.0.1',
      'basicConstraints = CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
    ].join('\n'),
  );
  openssl(
    [
      ...['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
      ...['-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'],
    ],
    dir,
  );
  chmodSync(join(dir, 'server.key'), 0o600);

  return {
    caFile: join(dir, 'ca.pem'),
    otherCaFile: join(dir, 'other-ca.pem'),
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
  };
}
