import 'reflect-metadata';
import { loadEnv } from '@app/config';
import { createIngestApp } from './ingest.app';

const DEFAULT_PORT = 3000;

async function bootstrap(): Promise<void> {
  const app = await createIngestApp();
  await app.listen(loadEnv().PORT ?? DEFAULT_PORT, '0.0.0.0');
}

bootstrap().catch((error: Error) => {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', context: 'ingest', message: error.message })}\n`);
  process.exit(1);
});
