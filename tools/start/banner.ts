import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { type AppProcess, LOOPBACK_HOST, ROOT } from '../local-stack';
import { env } from './console';

/** The fields of a collection file the example needs. */
interface CollectionFileHead {
  name?: unknown;
  kind?: unknown;
  schema?: { required?: unknown };
}

/**
 * An example write for the banner: the first document collection of COLLECTIONS_DIR, with its required fields.
 * The files are read with `yaml`, not @app/collections: that barrel pulls in the config module, whose
 * ConfigModule.forRoot() writes the validated defaults (REDIS_URL among them) into process.env on import.
 */
function exampleWrite(): { collection: string; body: string } {
  try {
    const dir = join(ROOT, env('COLLECTIONS_DIR') ?? 'config/collections');
    for (const file of readdirSync(dir)
      .filter((name) => /\.ya?ml$/.test(name))
      .sort()) {
      const head = parse(readFileSync(join(dir, file), 'utf8')) as CollectionFileHead | null;
      if (typeof head?.name !== 'string' || head.kind !== 'document') continue;
      const required = head.schema?.required;
      const fields = Array.isArray(required) ? required.filter((field) => typeof field === 'string') : [];

      return { collection: head.name, body: JSON.stringify(Object.fromEntries(fields.map((f) => [f, 'demo']))) };
    }
  } catch {
    // no usable collections folder: fall through to a placeholder (the apps say what is wrong with it)
  }

  return { collection: '<collection>', body: '{"hello":"world"}' };
}

/** What npm start prints once everything is ready: the URLs and a first write to try. */
export function printBanner(apps: AppProcess[], serverNotes: string[]): void {
  const ingest = apps[0]?.url ?? '';
  const { collection, body } = exampleWrite();
  const lines = [
    '',
    `Spillway is running. Ingest API: ${ingest}/v1`,
    '',
    `  curl -i -X PUT ${ingest}/v1/${collection}/demo-1 -H 'Content-Type: application/json' -d '${body}'`,
    `  curl -i ${ingest}/v1/${collection}/demo-1`,
    '',
    ...apps.map(
      ({ name, port }) =>
        `  ${name.padEnd(10)}metrics http://${LOOPBACK_HOST}:${port}/metrics   ` +
        `health http://${LOOPBACK_HOST}:${port}/health/ready`,
    ),
    '',
    ...serverNotes.map((note) => `  ${note}`),
    '',
    'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
