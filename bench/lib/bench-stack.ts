import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CollectionSpec, type DatabaseKind, Stack, stopAllOnSignals } from '../../tools/local-stack';

/**
 * The stack a bench run drives, in a new folder `<tmp>/<prefix>…`: Redis with the AOF (fsync every second), the
 * durable database, ingest with no backlog limit, and one sink that creates the tables and runs the migrations (the
 * run removes it before measuring). Ctrl-C: the servers stop (tools/local-stack), the app processes are killed and
 * the folder removed.
 */
export function benchStack(prefix: string, database: DatabaseKind, collections: CollectionSpec[]): Stack {
  const stack = new Stack({
    dir: mkdtempSync(join(tmpdir(), prefix)),
    replicas: 1,
    collections,
    redisFsync: 'everysec',
    database,
    databaseDurable: true,
    ingestEnv: { INGEST_MAX_BACKLOG: String(1_000_000_000) },
  });
  stopAllOnSignals(() => {
    for (const app of [stack.ingest, ...stack.allSinks]) app?.signal('SIGKILL');
    rmSync(stack.dir, { recursive: true, force: true });
  });

  return stack;
}
