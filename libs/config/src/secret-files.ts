import { readFileSync } from 'node:fs';
import { isSecretSetting } from './secret-settings';

/** The suffix of a variable that names the file holding a secret setting (the Docker and Kubernetes convention). */
export const FILE_SUFFIX = '_FILE';

/** A secret setting given twice, or a file that cannot be read: the process must not start. */
export class SecretFileException extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

type RawEnv = Record<string, string | undefined>;

/** Reads one secret file; the message names the variable and the path, never what the file holds. */
function readSecretFile(variable: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new SecretFileException(`${variable}: cannot read ${path} (${code})`);
  }
  // `echo secret > file` and most editors end a file with a line break, which is no part of the secret.
  const value = text.replace(/[\r\n]+$/, '');
  if (value === '') {
    throw new SecretFileException(`${variable}: ${path} is empty`);
  }

  return value;
}

/**
 * The environment with each secret setting given as `<NAME>_FILE` read from its file into `<NAME>` (the `_FILE`
 * variable left out). Throws one line naming the variables and the path when both `<NAME>` and `<NAME>_FILE` are set,
 * or when the file cannot be read or is empty. An empty variable counts as unset, as in validate().
 */
export function withSecretFiles(raw: RawEnv): RawEnv {
  const env: RawEnv = { ...raw };
  for (const [variable, path] of Object.entries(raw)) {
    const name = variable.endsWith(FILE_SUFFIX) ? variable.slice(0, -FILE_SUFFIX.length) : '';
    if (!isSecretSetting(name)) {
      continue;
    }
    delete env[variable];
    if (!path) {
      continue;
    }
    if (raw[name]) {
      throw new SecretFileException(`${name} and ${variable} are both set; set one of them`);
    }
    env[name] = readSecretFile(variable, path);
  }

  return env;
}

/**
 * Reads the secret files into the process environment once, before anything validates or reads it (startApp), so
 * that every reader of a setting sees its value whether it came as `<NAME>` or `<NAME>_FILE`. Idempotent: the
 * `_FILE` variables are removed once read.
 */
export function loadSecretFiles(env: NodeJS.ProcessEnv = process.env): void {
  const resolved = withSecretFiles(env);
  for (const variable of Object.keys(env)) {
    if (!(variable in resolved)) {
      delete env[variable];
    }
  }
  Object.assign(env, resolved);
}
