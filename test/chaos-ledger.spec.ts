import { DELETED, Ledger, UNKNOWN } from '../tools/chaos/ledger';

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

  it('flags one version acknowledged twice', () => {
    const ledger = new Ledger();
    ledger.acked('d', 1, { op: 'put', body: { n: 1 } });
    ledger.acked('d', 1, { op: 'put', body: { n: 2 } });

    expect(ledger.documents.get('d')?.duplicateVersions).toBe(1);
  });
});
