import { FailoverLosses, type MasterKill } from '../tools/chaos/failover-losses';
import { DELETED, Ledger, UNKNOWN } from '../tools/chaos/ledger';
import { VersionRanges } from '../tools/chaos/version-ranges';

/** The chaos run's ledger: what a document must be, from the writes ingest acknowledged with their versions. */
describe('chaos ledger', () => {
  it('replays acknowledged writes in version order, whatever order their answers came in', () => {
    const ledger = new Ledger();
    ledger.acked('d', 3, { op: 'patch', body: { n: 3, gone: null } });
    ledger.acked('d', 1, { op: 'put', body: { n: 1, gone: true, keep: 'k' } });
    ledger.acked('d', 2, { op: 'patch', body: { n: 2 } });

    expect(ledger.stateAt('d', 3)).toEqual({ n: 3, keep: 'k' });
    expect(ledger.stateAt('d', 2)).toEqual({ n: 2, gone: true, keep: 'k' });
    expect(ledger.lastAckedVersion('d')).toBe(3);
  });

  it('cannot tell the document when a version in its history was never acknowledged', () => {
    const ledger = new Ledger();
    ledger.acked('d', 1, { op: 'put', body: { n: 1 } });
    ledger.acked('d', 3, { op: 'patch', body: { n: 3 } });

    expect(ledger.stateAt('d', 3)).toBe(UNKNOWN);
  });

  it('knows a deleted document, and a put after the delete starts its history afresh', () => {
    const ledger = new Ledger();
    ledger.acked('d', 1, { op: 'put', body: { n: 1 } });
    ledger.acked('d', 2, { op: 'delete' });
    expect(ledger.stateAt('d', 2)).toBe(DELETED);

    ledger.acked('d', 3, { op: 'put', body: { n: 3 } });
    expect(ledger.stateAt('d', 3)).toEqual({ n: 3 });
  });

  it('flags one version acknowledged twice, with the sequence numbers of both acknowledgements', () => {
    const ledger = new Ledger();
    ledger.acked('d', 1, { op: 'put', body: { n: 1 } });
    ledger.acked('e', 1, { op: 'put', body: { n: 1 } });
    ledger.acked('d', 1, { op: 'put', body: { n: 2 } });

    const record = ledger.documents.get('d');
    expect(record?.duplicateVersions).toBe(1);
    expect(record?.reissued).toEqual([{ version: 1, firstSeq: 1, seq: 3 }]);
    // The write sent later is what Redis holds: the first was lost.
    expect(ledger.stateAt('d', 1)).toEqual({ n: 2 });
  });

  it('takes the write sent first as the lost one, whichever answer came first', () => {
    const ledger = new Ledger();
    ledger.acked('d', 1, { op: 'put', body: { n: 'kept' } }, 9);
    ledger.acked('d', 1, { op: 'put', body: { n: 'lost' } }, 4);

    expect(ledger.documents.get('d')?.reissued).toEqual([{ version: 1, firstSeq: 4, seq: 9 }]);
    expect(ledger.stateAt('d', 1)).toEqual({ n: 'kept' });
  });

  it('counts the acknowledged versions above one Redis kept, even those a put let it forget', () => {
    const ledger = new Ledger();
    for (const version of [1, 2, 3, 5, 6]) ledger.acked('d', version, { op: 'put', body: { n: version } });

    const record = ledger.documents.get('d');
    expect(record?.versions.countAbove(2)).toBe(3);
    expect(record?.writes.size).toBe(1);
    expect(record).toMatchObject({ maxAcked: 6, maxAckedSeq: 5 });
    expect(ledger.mark()).toEqual({ requests: 5 });
  });
});

describe(VersionRanges.name, () => {
  it('holds versions as ranges, in any order, and counts those above a version', () => {
    const sut = new VersionRanges();
    for (const version of [5, 1, 3, 2, 9, 4, 7]) expect(sut.add(version)).toBe(true);

    expect(sut.add(3)).toBe(false);
    expect(sut.size).toBe(7);
    expect([4, 6, 8, 10].map((v) => sut.has(v))).toEqual([true, false, false, false]);
    expect(sut.countAbove(0)).toBe(7);
    expect(sut.countAbove(4)).toBe(3);
    expect(sut.countAbove(7)).toBe(1);
    expect(sut.countAbove(9)).toBe(0);
    sut.add(6);
    sut.add(8);
    expect(sut.countAbove(4)).toBe(5);
  });
});

describe(FailoverLosses.name, () => {
  const kills: MasterKill[] = [
    { fault: '5 s master-kill', partitions: ['docs.0', 'events.1'], from: { requests: 100 }, to: { requests: 130 } },
    { fault: '20 s master-kill', partitions: ['docs.0'], from: { requests: 400 }, to: { requests: 420 } },
  ];

  it('gives a loss to the kill of its partition whose window holds its request, and no other', () => {
    const sut = new FailoverLosses(kills);

    expect(sut.killOf('docs.0', 120)).toBe(0);
    expect(sut.killOf('docs.0', 410)).toBe(1);
    expect(sut.killOf('docs.0', 100)).toBeUndefined(); // sent 2 s or more before the kill
    expect(sut.killOf('docs.0', 131)).toBeUndefined(); // sent after the kill
    expect(sut.killOf('docs.1', 120)).toBeUndefined(); // another master's partition
    expect(sut.killOf('events.1', 125)).toBe(0);
    expect(sut.lastKillBefore('docs.0', 900)).toBe(1);
    expect(sut.lastKillBefore('docs.0', 90)).toBeUndefined();
  });

  it('sums the losses per kill', () => {
    const sut = new FailoverLosses(kills);
    sut.add(0, 'documentWrites', 2);
    sut.add(1, 'documentWrites', 1);
    sut.add(0, 'events', 3);

    expect(sut.total).toEqual({
      documentWrites: 3,
      events: 3,
      byFault: [
        { fault: '5 s master-kill', documentWrites: 2, events: 3 },
        { fault: '20 s master-kill', documentWrites: 1, events: 0 },
      ],
    });
  });
});
