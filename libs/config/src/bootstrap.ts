import type { INestApplication } from '@nestjs/common';
import { loadEnv } from './env.schema';
import { loadSecretFiles } from './secret-files';

/**
 * Reads the secret files (`<NAME>_FILE`) into the environment, then creates an app and listens on PORT (or the app's
 * default); a failure to start is one JSON line on stderr and exit code 1, so a bad setting, secret file or collection
 * file reads as one clear line.
 */
export function startApp(name: string, create: () => Promise<INestApplication>, defaultPort: number): void {
  const start = async () => {
    loadSecretFiles();
    const app = await create();
    await app.listen(loadEnv().PORT ?? defaultPort, '0.0.0.0');
  };
  start().catch((error: Error) => exitOnStartupFailure(name, error));
}

/**
 * Ends the process on a failure no retry can mend (a bad setting, a refused schema change): one JSON line on stderr,
 * exit code 1, so that the operator reads the reason in the pod's last log line.
 */
export function exitOnStartupFailure(name: string, error: Error): never {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', context: name, message: error.message })}\n`);
  process.exit(1);
}
