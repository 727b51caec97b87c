import { readFileSync } from 'node:fs';
import { type PemKind, pemFileProblem } from './pem-files';

/**
 * How a database connection checks the server: `verify-full` verifies the certificate's chain against the CA and
 * that it names the URL's host; `verify-ca` only the chain; `disable` is plain TCP.
 */
export type DatabaseTlsMode = 'verify-full' | 'verify-ca' | 'disable';

/** The TLS a database URL asks for. */
export interface DatabaseTls {
  mode: DatabaseTlsMode;
  /** PEM file of the CA certificates; undefined: Node.js's own CA list */
  caFile?: string;
  /** client certificate and key (PEM), for a server that asks for one */
  certFile?: string;
  keyFile?: string;
}

/** The query parameters of each URL form: libpq's for PostgreSQL, the MySQL URI's (`mysqlsh`, X DevAPI) for MariaDB. */
interface TlsParameters {
  readonly mode: string;
  readonly modes: Readonly<Record<string, DatabaseTlsMode>>;
  /** modes refused, with why */
  readonly refused: Readonly<Record<string, string>>;
  /** modes left to the driver as it has always read them (the URL handed on untouched) */
  readonly driverModes: readonly string[];
  /** files without a mode: left to the driver (true), or refused */
  readonly filesAloneToDriver: boolean;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** the parameters this form spells differently, or the driver would read in its own way: refused */
  readonly foreign: RegExp;
  readonly example: string;
  /** the mode that verifies the chain only, as this form spells it */
  readonly verifyCa: string;
}

const POSTGRES: TlsParameters = {
  mode: 'sslmode',
  modes: { 'verify-full': 'verify-full', 'verify-ca': 'verify-ca', disable: 'disable' },
  refused: {},
  // node-postgres 8 reads these its own way, as it did before Spillway read sslmode: allow, prefer and require verify
  // as verify-full does (no fallback to plain TCP), no-verify encrypts without verifying.
  driverModes: ['allow', 'prefer', 'require', 'no-verify'],
  // node-postgres verifies against sslrootcert (as verify-full) when the URL names it without sslmode.
  filesAloneToDriver: true,
  ca: 'sslrootcert',
  cert: 'sslcert',
  key: 'sslkey',
  foreign: /^ssl-|^sslpassword$/i,
  example: 'sslmode=verify-full&sslrootcert=/path/ca.pem',
  verifyCa: 'sslmode=verify-ca',
};

const MYSQL: TlsParameters = {
  mode: 'ssl-mode',
  modes: { VERIFY_IDENTITY: 'verify-full', VERIFY_CA: 'verify-ca', DISABLED: 'disable' },
  refused: { PREFERRED: 'may connect without TLS', REQUIRED: 'does not verify the server' },
  driverModes: [],
  filesAloneToDriver: false,
  ca: 'ssl-ca',
  cert: 'ssl-cert',
  key: 'ssl-key',
  // mysql2 ignores the URL's parameters (TypeORM hands it host, user and database alone): any other ssl* one would
  // leave the connection plain while looking like TLS.
  foreign: /^ssl(?!-mode$|-ca$|-cert$|-key$)/i,
  example: 'ssl-mode=VERIFY_IDENTITY&ssl-ca=/path/ca.pem',
  verifyCa: 'ssl-mode=VERIFY_CA',
};

const parametersOf = (url: URL): TlsParameters | undefined =>
  /^postgres(ql)?:$/i.test(url.protocol) ? POSTGRES : /^(mysql|mariadb):$/i.test(url.protocol) ? MYSQL : undefined;

/** The mode parameter's value as the form spells its modes (libpq's lower case, MySQL's upper case). */
const modeKey = (form: TlsParameters, value: string): string =>
  form === MYSQL ? value.toUpperCase() : value.toLowerCase();

/** What is wrong with the TLS parameters of a database URL; `variable` names it. The URL is never printed. */
export function databaseTlsProblems(variable: string, url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const form = parametersOf(parsed);
  if (form === undefined) {
    return [];
  }
  const params = parsed.searchParams;
  const problems: string[] = [];
  const use = `use ${form.example}`;
  for (const name of new Set(params.keys())) {
    if (form.foreign.test(name)) {
      problems.push(`${variable}: ${name} is not a TLS parameter of this URL; ${use}`);
    }
  }
  const mode = params.get(form.mode);
  const key = mode === null ? undefined : modeKey(form, mode);
  if (key !== undefined && form.refused[key] !== undefined) {
    problems.push(`${variable}: ${form.mode}=${mode} ${form.refused[key]}; ${use} (or ${form.verifyCa})`);
  } else if (key !== undefined && form.modes[key] === undefined && !form.driverModes.includes(key)) {
    problems.push(`${variable}: ${form.mode}=${mode} is not a mode Spillway knows; ${use}`);
  }
  const files: [string, PemKind][] = [
    [form.ca, 'certificate'],
    [form.cert, 'certificate'],
    [form.key, 'private key'],
  ];
  for (const [name, kind] of files) {
    const file = params.get(name);
    if (file === null) continue;
    if (mode === null && !form.filesAloneToDriver) {
      problems.push(`${variable}: ${name} needs ${form.mode} too; ${use}`);
    }
    const problem =
      form === POSTGRES && name === POSTGRES.ca && file === 'system' ? undefined : pemFileProblem(file, kind);
    if (problem !== undefined) problems.push(`${variable}: ${name}: ${problem}`);
  }
  if (key !== undefined && form.modes[key] === 'verify-ca' && params.get(form.ca) === null) {
    problems.push(
      `${variable}: ${form.mode}=${mode} needs ${form.ca}=<CA file> (verify the host name too to trust Node.js's CA list)`,
    );
  }
  if (form === POSTGRES && key !== undefined && form.modes[key] !== undefined && params.has('ssl')) {
    problems.push(`${variable}: give sslmode alone, without ssl=`);
  }

  return problems;
}

/**
 * The TLS a database URL asks for with its parameters; throws the {@link databaseTlsProblems} of a URL that has some;
 * undefined when it names no mode Spillway reads itself, which leaves the URL to the driver as before (plain TCP
 * without parameters; node-postgres's own reading of its other sslmode values and of `ssl=`).
 */
export function databaseTlsOf(url: string): DatabaseTls | undefined {
  // The apps have checked their URLs at start; a command-line tool has not: a URL with problems never connects.
  const problems = databaseTlsProblems('the database URL', url);
  if (problems.length > 0) {
    throw new Error(problems.join('; '));
  }
  const parsed = new URL(url);
  const form = parametersOf(parsed);
  const mode = form === undefined ? null : parsed.searchParams.get(form.mode);
  const taken = form === undefined || mode === null ? undefined : form.modes[modeKey(form, mode)];
  if (form === undefined || taken === undefined) {
    return undefined;
  }
  const file = (name: string) => parsed.searchParams.get(name) ?? undefined;
  const caFile = file(form.ca);

  return {
    mode: taken,
    ...(caFile === undefined || (form === POSTGRES && caFile === 'system') ? {} : { caFile }),
    ...(file(form.cert) === undefined ? {} : { certFile: file(form.cert) }),
    ...(file(form.key) === undefined ? {} : { keyFile: file(form.key) }),
  };
}

/** The URL without its TLS parameters, for a driver that would otherwise read them again in its own way. */
export function withoutTlsParameters(url: string): string {
  const parsed = new URL(url);
  const form = parametersOf(parsed);
  if (form === undefined || databaseTlsOf(url) === undefined) {
    return url;
  }
  for (const name of [form.mode, form.ca, form.cert, form.key]) {
    parsed.searchParams.delete(name);
  }

  return parsed.toString();
}

/** The PEM contents of the files a {@link DatabaseTls} names, read now, as the drivers' TLS options take them. */
export function databaseTlsFiles(tls: DatabaseTls): { ca?: string; cert?: string; key?: string } {
  const read = (file: string | undefined) => (file === undefined ? undefined : readFileSync(file, 'utf8'));
  const [ca, cert, key] = [read(tls.caFile), read(tls.certFile), read(tls.keyFile)];

  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
  };
}
