import 'reflect-metadata';
import { loadEnv } from '@app/config';
import { createSinkApp } from './sink.app';

const DEFAULT_PORT = 3001;

async function bootstrap(): Promise<void> {
  const app = await createSinkApp();
  await app.listen(loadEnv().PORT ?? DEFAULT_PORT, '0.0.0.0');
}

bootstrap().catch((error: Error) => {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', context: 'sink', message: error.message })}\n`);
  process.exit(1);
});
