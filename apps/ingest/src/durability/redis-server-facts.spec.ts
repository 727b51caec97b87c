import { aofRefusal, hasWaitAof, parseServerFacts } from './redis-server-facts';

describe(parseServerFacts.name, () => {
  it('reads the version and whether the AOF is on from INFO', () => {
    const info = '# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n# Persistence\r\naof_enabled:1\r\n';

    expect(parseServerFacts(info)).toEqual({ version: '7.0.15', aofEnabled: true });
  });

  it('knows WAITAOF from Redis 7.2 on', () => {
    expect(['6.2.14', '7.0.15', '7.1.0'].map(hasWaitAof)).toEqual([false, false, false]);
    expect(['7.2.0', '7.4.1', '8.0.0'].map(hasWaitAof)).toEqual([true, true, true]);
  });

  it('refuses aof naming who asked and the version, or an AOF that is off', () => {
    expect(aofRefusal({ version: '7.0.15', aofEnabled: true }, 'the request')).toBe(
      'the request asks for durability aof, which needs WAITAOF (Redis 7.2 or later); this Redis is 7.0.15',
    );
    expect(aofRefusal({ version: '7.2.4', aofEnabled: false }, 'INGEST_DURABILITY')).toMatch(/AOF off/);
    expect(aofRefusal({ version: '7.2.4', aofEnabled: true }, 'the request')).toBeUndefined();
  });
});
