import type { Collection } from '@app/collections';
import { IngestException, IngestExceptionCode } from '../ingest.exception';
import { requestedDurability } from './durability-header';

const plain = { name: 'c' } as Collection;
const persisted = { name: 'c', durability: 'persisted' } as Collection;

describe(requestedDurability.name, () => {
  it('takes the header, else the collection, else the server default', () => {
    expect(requestedDurability('Replicated', persisted, 'memory')).toBe('replicated');
    expect(requestedDurability(undefined, persisted, 'memory')).toBe('persisted');
    expect(requestedDurability(undefined, plain, 'aof')).toBe('aof');
  });

  it('refuses a header that names no level', () => {
    const sut = () => requestedDurability('disk', plain, 'memory');

    expect(sut).toThrow(IngestException);
    expect(sut).toThrow('the Durability header must be one of memory, replicated, aof, persisted, not "disk"');
    try {
      sut();
    } catch (error) {
      expect((error as IngestException).code).toBe(IngestExceptionCode.INVALID_DURABILITY);
    }
  });
});
