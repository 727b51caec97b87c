import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCollections } from './collections.loader';
import { connectionsOf, connectionView } from './connection-view';

describe(connectionView.name, () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-connections-'));
    writeFileSync(
      join(dir, 'sessions.yaml'),
      `name: sessions
kind: document
output:
  - uses: relational.write
    with: { table: facts, keys: [id], mapping: [n], columns: { id: text, n: integer } }
  - uses: relational.write
    with: { table: wide, keys: [id], mapping: [label], columns: { id: text, label: text }, connection: analytics }
`,
    );
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const sessions = () => {
    const [collection] = loadCollections(dir, { connections: ['default', 'analytics'] });
    if (collection === undefined) throw new Error('no collection');

    return collection;
  };

  it('lists the default connection and every connection an output names', () => {
    expect(connectionsOf(sessions())).toEqual(['default', 'analytics']);
  });

  it("projects one connection's outputs alone: a value only another database's output refuses is not this one's", () => {
    const collection = sessions();
    const doc = { id: 's1', n: 'not a number', label: 'x' };

    expect(collection.projector?.project(doc).kind).toBe('invalid');
    expect(connectionView(collection, 'analytics').projector?.project(doc)).toEqual({
      kind: 'rows',
      rows: [[['s1', 'x']]],
    });
    expect(connectionView(collection, 'default').projector?.project(doc).kind).toBe('invalid');
    expect(connectionView(collection, 'default').outputs.map((o) => o.table)).toEqual(['facts']);
  });

  it('keeps a state table alone for a connection none of its outputs name', () => {
    const view = connectionView(sessions(), 'legacy');

    expect(view.outputs).toEqual([]);
    expect(view.projector).toBeUndefined();
  });
});
