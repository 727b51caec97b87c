import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection } from '@app/collections';
import { type ChangeEntry, ChangeOp } from '@app/contracts';
import { testServers } from '../../../../../test/utils/servers';
import { LOCK_SLOT_BITS, lockSlotOf } from './document-locks';
import { mariadbStateTable } from './mariadb-names';
import { MariadbSession } from './mariadb-session';
import { mariadbStateWrites as sut } from './state-table-writes';
import { MariadbStateTablesFixture } from './state-tables.fixture';

/**
 * Document locks on MariaDB, as the sink's writes take them: replicas writing the same documents at once, in
 * opposite orders, queue instead of deadlocking, and the newest version wins whatever the commit order.
 *
 * Real: MariaDB. Mocked: nothing.
 */
describe('mariadb lockDocuments', () => {
  const { mariadbUrl } = testServers();
  let fixture: MariadbStateTablesFixture;
  let documents: Collection;
  let entryMs = 1_700_000_000_000;

  const entry = (op: ChangeOp, id: string, version: number): ChangeEntry => {
    entryMs += 1;
    const doc = op === ChangeOp.PUT ? JSON.stringify({ id, version }) : '';

    return { entryId: `${entryMs}-0`, op, id, version, doc, ingestedAt: entryMs };
  };

  beforeAll(async () => {
    fixture = await MariadbStateTablesFixture.create(mariadbUrl, 'locks');
  });

  beforeEach(async () => {
    documents = await fixture.collection('document');
  });

  afterAll(async () => {
    await fixture?.destroy();
  });

  it('spreads documents over all the slots', () => {
    const slots = Array.from({ length: 10_000 }, (_, i) => lockSlotOf('sessions', `s-${i}`));

    expect(Math.min(...slots)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...slots)).toBeLessThan(2 ** LOCK_SLOT_BITS);
    expect(new Set(slots).size).toBeGreaterThan(9_900);
  });

  it('makes a writer wait for a transaction holding the lock, then read what it committed', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = fixture.inTransaction(async (session) => {
      await sut.writeDocuments(
        session,
        documents,
        { puts: [entry(ChangeOp.PUT, 'x', 2)], deletes: [] },
        { withIds: false },
      );
      locked();
      await held;
    });
    await isLocked;
    let waiterDone = false;

    const waiter = fixture
      .inTransaction((session) =>
        sut.writeDocuments(session, documents, { puts: [entry(ChangeOp.PUT, 'x', 1)], deletes: [] }, { withIds: true }),
      )
      .finally(() => (waiterDone = true));
    await sleep(300);

    expect(waiterDone).toBe(false);
    release();
    await holder;
    expect(await waiter).toEqual({ inserted: 0, updated: 0, deleted: 0, rows: new Map() });
  });

  it('lets replicas write the same documents in opposite orders without deadlock; the newest version wins', async () => {
    const ids = Array.from({ length: 300 }, (_, i) => `doc-${i}`);
    const newest = new Map<string, ChangeEntry>();
    const batch = (round: number, replica: number, order: string[]) => {
      const changes = order.map((id) => {
        // Each round every replica writes every id, each its own version; which is the highest, and whether a put or
        // a delete, varies.
        const n = Number(id.slice('doc-'.length));
        const version = 3 * round + ((n + replica + round) % 3);
        const change = entry((n * 7 + round + replica) % 5 === 0 ? ChangeOp.DELETE : ChangeOp.PUT, id, version);
        if (version > (newest.get(id)?.version ?? 0)) {
          newest.set(id, change);
        }

        return change;
      });

      return {
        puts: changes.filter((c) => c.op === ChangeOp.PUT),
        deletes: changes.filter((c) => c.op === ChangeOp.DELETE),
      };
    };
    const replica = async (index: number, order: string[]) => {
      for (let round = 1; round <= 25; round += 1) {
        const changes = batch(round, index, order);
        await fixture.inTransaction((session) => sut.writeDocuments(session, documents, changes, { withIds: true }));
      }
    };

    await Promise.all([
      replica(0, ids),
      replica(1, [...ids].reverse()),
      replica(2, ids.slice(100).concat(ids.slice(0, 100))),
    ]);

    const rows = await fixture.dataSource.query<{ id: string; version: string }[]>(
      `SELECT id, version FROM ${mariadbStateTable(documents)}`,
    );
    const tombstones = await fixture.dataSource.query<{ id: string; version: string }[]>(
      'SELECT id, version FROM spillway_tombstones WHERE collection = ?',
      [documents.name],
    );
    const rowVersions = new Map(rows.map((r) => [r.id, Number(r.version)]));
    const tombstoneVersions = new Map(tombstones.map((t) => [t.id, Number(t.version)]));
    for (const id of ids) {
      const change = newest.get(id);
      if (change?.op === ChangeOp.PUT) {
        expect({ id, row: rowVersions.get(id) }).toEqual({ id, row: change.version });
      } else {
        expect({ id, row: rowVersions.get(id), tombstone: tombstoneVersions.get(id) }).toEqual({
          id,
          row: undefined,
          tombstone: change?.version,
        });
      }
    }
  });

  it('refuses to lock outside a transaction, where the locks would end with the statement', async () => {
    const runner = fixture.dataSource.createQueryRunner();
    try {
      const session = await MariadbSession.of(runner);

      await expect(sut.lockDocuments(session, documents.name, ['a'])).rejects.toThrow(/start one before writing/);
      await expect(
        sut.writeDocuments(
          session,
          documents,
          { puts: [entry(ChangeOp.PUT, 'a', 1)], deletes: [] },
          { withIds: false },
        ),
      ).rejects.toThrow(/start one before writing/);
    } finally {
      await runner.release();
    }
  });

  it('refuses to lock when the lock slots are missing, rather than write unlocked', async () => {
    const slot = lockSlotOf(documents.name, 'orphan');
    await fixture.dataSource.query('DELETE FROM spillway_lock_slots WHERE slot = ?', [slot]);
    try {
      await expect(
        fixture.inTransaction((session) => sut.lockDocuments(session, documents.name, ['orphan'])),
      ).rejects.toThrow(/spillway_lock_slots lacks 1 lock slots: run the migrations/);
    } finally {
      await fixture.dataSource.query('INSERT INTO spillway_lock_slots (slot) VALUES (?)', [slot]);
    }
  });
});
