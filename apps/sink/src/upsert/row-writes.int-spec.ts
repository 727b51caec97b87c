import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { type Collection, loadCollections } from '@app/collections';
import { type ChangeEntry, ChangeOp } from '@app/contracts';
import { createSpillwayDataSource, DatabaseService, SchemaProvisioner } from '@app/persistence';
import { scratchPostgresDatabase } from '../../../../test/utils/scratch-database';
import { testServers } from '../../../../test/utils/servers';
import { BatchWriter } from './batch-writer';

/**
 * The write paths where every entry becomes a row, on a real PostgreSQL: events go in by COPY, which a redelivered
 * event makes fail, and documents as one jsonb array joined from their texts. What a user checks: each event stored
 * once and exactly as sent, the counts, and a bad entry dead-lettered alone.
 *
 * Real: PostgreSQL. Mocked: nothing.
 */
describe('BatchWriter, rows on PostgreSQL', () => {
  const database = scratchPostgresDatabase(testServers().databaseUrl, 'spillway_rows');
  const files = mkdtempSync(join(tmpdir(), 'spillway-rows-'));
  let dataSource: DataSource;
  let writer: BatchWriter;
  let events: Collection;
  let documents: Collection;
  let entryMs = 1_700_000_000_000;

  const entry = (op: ChangeOp, id: string, doc: string, version = 1): ChangeEntry => {
    entryMs += 1;

    return { entryId: `${entryMs}-0`, op, id, version, doc, ingestedAt: entryMs };
  };
  const event = (id: string, doc = JSON.stringify({ id, screen: 'home' })) => entry(ChangeOp.EVENT, id, doc);
  const put = (id: string, doc: string, version = 1) => entry(ChangeOp.PUT, id, doc, version);
  const stored = (table: string) =>
    dataSource.query<{ id: string; doc: unknown; ingested_ms?: string }[]>(`SELECT * FROM ${table} ORDER BY id`);

  beforeAll(async () => {
    await database.create();
    writeFileSync(join(files, 'clicks.yaml'), 'name: clicks\nkind: event\n');
    writeFileSync(join(files, 'notes.yaml'), 'name: notes\nkind: document\n');
    const collections = loadCollections(files);
    events = collections.find((c) => c.name === 'clicks') as Collection;
    documents = collections.find((c) => c.name === 'notes') as Collection;
    dataSource = createSpillwayDataSource({ url: database.url, poolSize: 2 });
    const service = new DatabaseService(dataSource);
    await new SchemaProvisioner(service).provision(collections);
    writer = new BatchWriter(service);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database.drop();
    rmSync(files, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await dataSource.query('TRUNCATE clicks, notes');
  });

  it('stores a batch of events once each, exactly as sent, with their ingestion time', async () => {
    const tricky = JSON.stringify({ id: 'e-2', text: 'tab\there, line\nbreak, back\\slash, "quotes", é, 😀' });
    const batch = [event('e-1'), event('e-2', tricky), event('e\tid-3')];

    const result = await writer.writeIsolating(events, batch);

    expect(result).toEqual({ counts: { inserted: 3, updated: 0, deleted: 0, stale: 0, filtered: 0 }, rejected: [] });
    const rows = await dataSource.query<{ id: string; doc: unknown; ms: string }[]>(
      'SELECT id, doc, (extract(epoch FROM ingested_at) * 1000)::bigint AS ms FROM clicks ORDER BY id',
    );
    expect(rows).toEqual(
      batch
        .map((e) => ({ id: e.id, doc: JSON.parse(e.doc) as unknown, ms: String(e.ingestedAt) }))
        .sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
  });

  it('stores a redelivered batch once: the stored events count as stale, the new ones land', async () => {
    await writer.writeIsolating(events, [event('e-1'), event('e-2')]);

    const again = await writer.writeIsolating(events, [event('e-2'), event('e-3'), event('e-1'), event('e-4')]);

    expect(again.counts).toMatchObject({ inserted: 2, stale: 2 });
    expect((await stored('clicks')).map((r) => r.id)).toEqual(['e-1', 'e-2', 'e-3', 'e-4']);
  });

  it('dead-letters only the event PostgreSQL refuses; its batch-mates land', async () => {
    const bad = event('e-bad', '{"id":"e-bad","text":"\\u0000"}'); // jsonb takes no NUL character

    const result = await writer.writeIsolating(events, [event('e-1'), bad, event('e-3')]);

    expect(result.rejected.map((r) => r.entry)).toEqual([bad]);
    expect(result.rejected[0]?.reason).toMatch(/^rejected by PostgreSQL: 22P05/);
    expect((await stored('clicks')).map((r) => r.id)).toEqual(['e-1', 'e-3']);
  });

  it('writes documents from their texts, exactly as sent, and counts inserts and updates', async () => {
    const tricky = JSON.stringify({ id: 'd-2', text: 'a,b],[{"c":1}\\ "q" é' });
    await writer.writeIsolating(documents, [put('d-1', '{"id":"d-1","n":1}')]);

    const result = await writer.writeIsolating(documents, [put('d-1', '{"id":"d-1","n":2}', 2), put('d-2', tricky)]);

    expect(result.counts).toEqual({ inserted: 1, updated: 1, deleted: 0, stale: 0, filtered: 0 });
    expect((await stored('notes')).map((r) => [r.id, r.doc])).toEqual([
      ['d-1', { id: 'd-1', n: 2 }],
      ['d-2', JSON.parse(tricky)],
    ]);
  });

  it('dead-letters only a document whose text is not one JSON value, which would shift its batch-mates', async () => {
    const two = put('d-2', '{"id":"d-2"},{"id":"d-x"}');
    const unclosed = put('d-3', '{"id":"d-3"');

    const result = await writer.writeIsolating(documents, [
      put('d-1', '{"id":"d-1"}'),
      two,
      unclosed,
      put('d-4', '{}'),
    ]);

    expect(result.rejected.map((r) => r.entry)).toEqual([two, unclosed]);
    expect(result.rejected[0]?.reason).toMatch(/22023.*not one JSON value/);
    expect((await stored('notes')).map((r) => [r.id, r.doc])).toEqual([
      ['d-1', { id: 'd-1' }],
      ['d-4', {}],
    ]);
  });

  it('writes a batch of first writes (all at version 1) again as stale: a stored row sends it through the upsert', async () => {
    await writer.writeIsolating(documents, [put('d-1', '{"id":"d-1","n":1}'), put('d-2', '{"id":"d-2","n":1}', 2)]);

    const again = await writer.writeIsolating(documents, [
      put('d-1', '{"id":"d-1","n":9}'),
      put('d-3', '{"id":"d-3"}'),
    ]);
    const older = await writer.writeIsolating(documents, [put('d-2', '{"id":"d-2","n":0}')]);

    expect(again.counts).toEqual({ inserted: 1, updated: 0, deleted: 0, stale: 1, filtered: 0 });
    expect(older.counts).toMatchObject({ inserted: 0, updated: 0, stale: 1 });
    expect((await stored('notes')).map((r) => [r.id, r.doc])).toEqual([
      ['d-1', { id: 'd-1', n: 1 }],
      ['d-2', { id: 'd-2', n: 1 }],
      ['d-3', { id: 'd-3' }],
    ]);
  });

  it('keeps a first write of a deleted document out, as its tombstone says', async () => {
    await writer.writeIsolating(documents, [put('d-1', '{"id":"d-1"}')]);
    await writer.writeIsolating(documents, [entry(ChangeOp.DELETE, 'd-1', '', 2)]);

    const late = await writer.writeIsolating(documents, [put('d-1', '{"id":"d-1","late":true}'), put('d-2', '{}')]);

    expect(late.counts).toMatchObject({ inserted: 1, stale: 1 });
    expect((await stored('notes')).map((r) => r.id)).toEqual(['d-2']);
  });
});
