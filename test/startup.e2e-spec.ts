import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..');

/** The built apps refuse bad configuration at start with one clear line. Real: the built apps. */
describe('startup configuration', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-startup-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const start = (app: 'ingest' | 'sink', env: Record<string, string>) =>
    spawnSync(process.execPath, [join(root, 'dist', 'apps', app, 'main.js')], {
      env: { ...process.env, PORT: '0', ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });

  it.each(['ingest', 'sink'] as const)('%s stops on a bad collection file, naming file, field and problem', (app) => {
    writeFileSync(join(dir, 'bad.yaml'), 'name: orders\nkind: ledger\n');

    const result = start(app, { COLLECTIONS_DIR: dir });

    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines.at(-1)).toContain(
      `collection file ${join(dir, 'bad.yaml')}: field \\"kind\\": must be equal to one of the allowed values`,
    );
  });

  it.each(['ingest', 'sink'] as const)('%s stops on a bad setting with one line', (app) => {
    const result = start(app, { SINK_BATCH_SIZE: '0', INGEST_MAX_BACKLOG: 'many' });

    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/Invalid environment: .*(SINK_BATCH_SIZE|INGEST_MAX_BACKLOG)/);
  });
});
