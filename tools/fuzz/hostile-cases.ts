// Hostile requests of every kind issue 3 names, each with the answers the contract allows for it.
//
// Hostile requests aim only at ids starting with "hx-", at the collection fz_hostile that valid traffic never
// writes, at unknown collections, or at valid documents in ways that must be refused before anything is written
// (a bad If-Match, a PATCH whose merge cannot be stored). So after the run, no "hx-" id and no fz_hostile row may
// exist anywhere, and the stream entries must be exactly the acknowledged valid writes.
import {
  bulkResults,
  type CaseContext,
  type FuzzCase,
  type HttpCase,
  JSON_TYPE,
  nestedArrays,
  nestedObjects,
  type RawCase,
} from './case-context';
import { DOCS, EVENTS, HOSTILE, MAX_BODY, MAX_DOCUMENT_DEPTH } from './collections';

function hostile(
  category: string,
  method: string,
  path: string,
  body: string | Buffer | undefined,
  expect: number[],
  headers: Record<string, string> = body === undefined ? {} : JSON_TYPE,
): HttpCase {
  return {
    category,
    valid: false,
    transport: 'http',
    method,
    path,
    headers,
    body,
    expect,
    settle(answer) {
      // A _bulk answered 200 must have refused every item: hostile bulks carry nothing storable.
      const results = bulkResults(answer);
      if (typeof results === 'string') return results;
      if (results && !results.every((r) => r.error && r.error.status >= 400 && r.error.status < 500)) {
        return `an item was accepted: ${answer.body.slice(0, 200)}`;
      }

      return undefined;
    },
  };
}

function wire(
  category: string,
  chunks: (string | Buffer)[],
  expect: number[],
  { halfClose = false, allowClose = false } = {},
): RawCase {
  return { category, valid: false, transport: 'raw', raw: { chunks, halfClose }, expect, allowClose };
}

/** A document body with `members` (raw JSON text) spliced in. */
const docWith = (members: string): string => `{"userId":"u-1","status":"active",${members}}`;

export interface HostileCases {
  next(): FuzzCase;
  /** the categories, in the order of the table */
  kinds: string[];
}

export function createHostileCases(ctx: CaseContext): HostileCases {
  const int = (n: number): number => ctx.int(n);
  const pick = <T>(list: readonly T[]): T => ctx.pick(list);
  const chance = (p: number): boolean => ctx.chance(p);
  const hx = (): string => ctx.hx();
  const liveValidId = (): string => ctx.liveValidId();

  /** Where a bad document goes: a hostile id, in fz_docs or in fz_hostile. */
  const target = () => ({ collection: chance(0.7) ? DOCS : HOSTILE, id: hx() });

  /**
   * The same bad members through every write: PUT, POST, PATCH of a live valid document, event, both _bulk kinds.
   * @param single one copy of `members` per body (it is near the body limit)
   */
  function badContent(category: string, members: string, { single = false } = {}): HttpCase {
    const expect = [400];
    const { collection, id } = target();
    const copies = () => (single ? 1 : 1 + int(4));
    switch (int(6)) {
      case 0:
        return hostile(category, 'PUT', `/v1/${collection}/${id}`, docWith(members), expect);
      case 1:
        return hostile(category, 'POST', `/v1/${collection}`, `{"id":"${id}",${docWith(members).slice(1)}`, expect);
      case 2:
        // Refused before any write; 404 when the document is not live (a delete may have just won).
        return hostile(category, 'PATCH', `/v1/${DOCS}/${liveValidId()}`, `{${members}}`, [...expect, 404]);
      case 3:
        return hostile(
          category,
          'POST',
          `/v1/${EVENTS}`,
          `{"id":"${id}","sessionId":"s","screen":"x",${members}}`,
          expect,
        );
      case 4: {
        const ops = Array.from({ length: copies() }, () => `{"op":"put","id":"${hx()}","doc":${docWith(members)}}`);

        return hostile(category, 'POST', `/v1/${collection}/_bulk`, `{"ops":[${ops.join(',')}]}`, [...expect, 200]);
      }
      default: {
        const events = Array.from(
          { length: copies() },
          () => `{"id":"${hx()}","sessionId":"s","screen":"x",${members}}`,
        );

        return hostile(category, 'POST', `/v1/${EVENTS}/_bulk`, `{"events":[${events.join(',')}]}`, [...expect, 200]);
      }
    }
  }

  const hostileKinds: [string, number, () => FuzzCase][] = [
    [
      'json.malformed',
      4,
      () => {
        const { collection, id } = target();
        const body = pick([
          '{"userId":"u-1"',
          '{"userId":"u-1"} x',
          "{'userId':'u-1'}",
          '{"userId":u-1}',
          '{"a":1,}',
          '\ufeff{"a"',
          '{"a":"\\x41"}',
          '{"a":"unterminated',
          '[1,2',
          'nul',
          ' ',
          '',
        ]);
        const [method, path] = pick([
          ['PUT', `/v1/${collection}/${id}`],
          ['PATCH', `/v1/${DOCS}/${liveValidId()}`],
          ['POST', `/v1/${collection}`],
          ['POST', `/v1/${collection}/_bulk`],
          ['POST', `/v1/${EVENTS}`],
        ] as const);

        return hostile('json.malformed', method, path, body, [400]);
      },
    ],
    [
      'body.not-object',
      3,
      () => {
        const { collection, id } = target();
        const body = pick(['[{"userId":"u-1"}]', '42', 'null', '"u-1"', 'true', '[]']);
        const [method, path] = pick([
          ['PUT', `/v1/${collection}/${id}`],
          ['POST', `/v1/${collection}`],
          ['PATCH', `/v1/${DOCS}/${liveValidId()}`],
          ['POST', `/v1/${EVENTS}`],
          ['POST', `/v1/${collection}/_bulk`],
        ] as const);

        return hostile('body.not-object', method, path, body, [400]);
      },
    ],
    [
      'text.nul',
      4,
      () =>
        badContent(
          'text.nul',
          pick([
            '"note":"a\\u0000b"',
            '"x\\u0000":1',
            '"tags":["ok","\\u0000"]',
            '"device":{"model":"\\u0000"}',
            `"big":"${'n'.repeat(int(200_000))}\\u0000"`,
          ]),
        ),
    ],
    [
      'text.lone-surrogate',
      3,
      () =>
        badContent(
          'text.lone-surrogate',
          pick([
            '"note":"\\ud800"',
            '"note":"x\\udfff"',
            '"\\udbff":1',
            '"note":"\\udc00\\ud800"',
            '"tags":["\\ud83d"]',
          ]),
        ),
    ],
    [
      'number.overflow',
      2,
      () => badContent('number.overflow', pick(['"amount":1e400', '"amount":-1e309', '"n":[1,2,1e999]'])),
    ],
    [
      'depth.document',
      3,
      () =>
        badContent(
          'depth.document',
          `"deep":${chance(0.5) ? nestedObjects(MAX_DOCUMENT_DEPTH + int(50)) : nestedArrays(MAX_DOCUMENT_DEPTH + int(500))}`,
        ),
    ],
    [
      'depth.body',
      1,
      () => {
        // Up to the deepest a 1 MiB body can hold (arrays: 2 bytes a level, objects: 7): what overflowed the stack (500).
        const room = MAX_BODY - 300;
        const deep = chance(0.5)
          ? nestedArrays(Math.min(pick([1001, 5000, 50_000, room]), Math.floor(room / 2)))
          : nestedObjects(Math.min(pick([1001, 5000, room]), Math.floor(room / 7)));

        return badContent('depth.body', `"deep":${deep}`, { single: true });
      },
    ],
    [
      'proto.keys',
      3,
      () =>
        badContent(
          'proto.keys',
          pick([
            '"__proto__":{"polluted":true}',
            '"device":{"__proto__":{"admin":true}}',
            '"constructor":{"prototype":{"polluted":true}}',
            '"a":[{"__proto__":null}]',
          ]),
        ),
    ],
    [
      'utf8.invalid',
      2,
      () => {
        const { collection, id } = target();
        const bad = pick([[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]]);
        const body = Buffer.concat([Buffer.from(`{"userId":"u-1","note":"`), Buffer.from(bad), Buffer.from('"}')]);

        return hostile('utf8.invalid', 'PUT', `/v1/${collection}/${id}`, body, [400]);
      },
    ],
    [
      'content-type',
      3,
      () => {
        const { collection, id } = target();
        const type = pick([
          undefined,
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/jsonx',
          'application/json-patch+json',
          'multipart/form-data; boundary=x',
          'application/json; charset=utf-16',
          'application/json; charset=latin1',
          'text/json',
        ]);
        const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type };
        const method = pick(['PUT', 'POST']);
        const path = pick([`/v1/${collection}/${id}`, `/v1/${collection}`]);

        return hostile('content-type', method, path, docWith('"a":1'), [400, 404, 415], headers);
      },
    ],
    [
      'body.oversize',
      1,
      () => {
        const { collection, id } = target();
        const body = docWith(`"blob":"${'o'.repeat(MAX_BODY + int(64 * 1024))}"`);
        const head =
          `PUT /v1/${collection}/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;

        return wire('body.oversize', [head, body], [413], { allowClose: true });
      },
    ],
    [
      'bulk.shape',
      3,
      () => {
        const collection = chance(0.7) ? DOCS : HOSTILE;
        const op = () => `{"op":"put","id":"${hx()}","doc":{"userId":"u-1"}}`;
        // A body that is not {"ops": [...]} with 1 to 1,000 items fails whole (400); a malformed item fails alone,
        // in its own result of a 200.
        const whole = [400];
        const eachItem = [200];
        const [body, expect] = pick([
          () => [`{"ops":[${Array.from({ length: 1001 }, op).join(',')}]}`, whole] as const,
          () => ['{"ops":[]}', whole] as const,
          () => ['{"ops":{}}', whole] as const,
          () => ['{"events":[{"sessionId":"s","screen":"x"}]}', whole] as const,
          () => [`{"ops":[{"op":"upsert","id":"${hx()}","doc":{"userId":"u-1"}}]}`, eachItem] as const,
          () => [`{"ops":[1,"x",null]}`, eachItem] as const,
          () => [`{"ops":[{"op":"put","id":"${hx()}","doc":{"userId":"u-1"},"ifMatch":-1}]}`, eachItem] as const,
          () => [`{"ops":[{"op":"put","id":"${hx()}","doc":{"userId":"u-1"},"ifMatch":1e400}]}`, eachItem] as const,
        ])();

        return hostile('bulk.shape', 'POST', `/v1/${collection}/_bulk`, body, expect);
      },
    ],
    [
      'bulk.events-shape',
      1,
      () => {
        const ev = () => `{"id":"${hx()}","sessionId":"s","screen":"x"}`;
        const body = pick([
          () => `{"events":[${Array.from({ length: 1001 }, ev).join(',')}]}`,
          () => '{"events":[]}',
          () => '{"ops":[]}',
          () => '{"events":"x"}',
        ])();

        return hostile('bulk.events-shape', 'POST', `/v1/${EVENTS}/_bulk`, body, [400]);
      },
    ],
    [
      'if-match.bad',
      2,
      () => {
        const value = pick(['*', '"x"', '"1", "2"', 'W/', '"-1"', '"1.5"', '"1234567890123456"', '""1""', 'garbage']);
        const method = pick(['PUT', 'PATCH', 'DELETE']);
        const body = method === 'DELETE' ? undefined : docWith('"a":1');

        return hostile('if-match.bad', method, `/v1/${DOCS}/${liveValidId()}`, body, [400], {
          ...(method === 'DELETE' ? {} : JSON_TYPE),
          'if-match': value,
        });
      },
    ],
    [
      'id.bad',
      3,
      () => {
        const collection = chance(0.7) ? DOCS : HOSTILE;
        const bad = pick([
          'hx%00a',
          'hx%C3%A9',
          'hx%20a',
          'hx%2Fa',
          'hx%25',
          `hx${'x'.repeat(199)}`,
          `hx${'y'.repeat(5000)}`,
          'hx%F0%9F%98%80',
          'hx*',
          'hx%0D%0A',
          'hx%22',
          'hx%5C',
        ]);
        const inBody = pick(['hx\u0000a', 'hx é', 'hx/a', `hx${'z'.repeat(199)}`, 'hx\ud800', '']);
        const putOp = { op: 'put', id: inBody, doc: { userId: 'u' } };

        return pick([
          () => hostile('id.bad', pick(['PUT', 'PATCH']), `/v1/${collection}/${bad}`, docWith('"a":1'), [400]),
          () => hostile('id.bad', pick(['DELETE', 'GET']), `/v1/${collection}/${bad}`, undefined, [400]),
          () => hostile('id.bad', 'POST', `/v1/${collection}`, JSON.stringify({ id: inBody, userId: 'u-1' }), [400]),
          () =>
            hostile(
              'id.bad',
              'POST',
              `/v1/${EVENTS}`,
              JSON.stringify({ id: inBody, sessionId: 's', screen: 'x' }),
              [400],
            ),
          // A malformed id in _bulk fails its item alone, in its own result of a 200.
          () => hostile('id.bad', 'POST', `/v1/${collection}/_bulk`, JSON.stringify({ ops: [putOp] }), [200]),
        ])();
      },
    ],
    [
      'collection.unknown',
      2,
      () => {
        const name = pick([
          'nope',
          'Fz_docs',
          'fz_docs%00',
          'fz_docs%20',
          'spillway_tombstones',
          'x'.repeat(300),
          '%E2%80%AE',
          '..',
          'fz_docs%2Fx',
        ]);
        const [method, path] = pick([
          ['PUT', `/v1/${name}/${hx()}`],
          ['POST', `/v1/${name}`],
          ['POST', `/v1/${name}/_bulk`],
          ['DELETE', `/v1/${name}/${hx()}`],
        ] as const);

        return hostile('collection.unknown', method, path, method === 'DELETE' ? undefined : docWith('"a":1'), [404]);
      },
    ],
    [
      'method.wrong',
      2,
      () =>
        pick([
          () =>
            hostile(
              'method.wrong',
              pick(['PUT', 'PATCH']),
              `/v1/${EVENTS}/${hx()}`,
              '{"sessionId":"s","screen":"x"}',
              [405],
            ),
          () => hostile('method.wrong', 'DELETE', `/v1/${EVENTS}/${hx()}`, undefined, [405]),
          () => hostile('method.wrong', 'POST', `/v1/${DOCS}/${hx()}`, docWith('"a":1'), [404]),
          () => hostile('method.wrong', pick(['OPTIONS', 'TRACE']), `/v1/${DOCS}/${hx()}`, undefined, [404]),
          () => hostile('method.wrong', 'PUT', `/v1/${DOCS}`, docWith('"a":1'), [404]),
        ])(),
    ],
    [
      'schema.violation',
      2,
      () => {
        const { collection, id } = target();

        return pick([
          () => hostile('schema.violation', 'PUT', `/v1/${collection}/${id}`, '{"status":"active"}', [400]),
          () => hostile('schema.violation', 'PUT', `/v1/${DOCS}/${id}`, '{"userId":"u","status":"exploded"}', [400]),
          () => hostile('schema.violation', 'PUT', `/v1/${collection}/${id}`, '{"userId":42}', [400]),
          () => hostile('schema.violation', 'PATCH', `/v1/${DOCS}/${liveValidId()}`, '{"userId":null}', [400, 404]),
          () => hostile('schema.violation', 'POST', `/v1/${EVENTS}`, `{"id":"${id}","sessionId":"s"}`, [400]),
          () => hostile('schema.violation', 'PUT', `/v1/${collection}/${id}`, `{"id":"${hx()}","userId":"u"}`, [400]),
        ])();
      },
    ],
    [
      'wire.malformed',
      2,
      () => {
        const { collection, id } = target();
        const path = `/v1/${collection}/${id}`;
        const body = docWith('"a":1');
        const json = 'Host: x\r\nContent-Type: application/json';
        const chunks = pick([
          () => ['GARBAGE\r\n\r\n'],
          () => [`PUT ${path} HTTP/1.1\r\n${json}\r\nContent-Length: abc\r\n\r\n${body}`],
          () => [`PUT ${path} HTTP/1.1\r\n${json}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n${body}`],
          () => [
            `PUT ${path} HTTP/1.1\r\n${json}\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n${body}`,
          ],
          () => [
            `PUT ${path} HTTP/1.1\r\n${json}\r\nX-Pad: ${'p'.repeat(20_000)}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
          ],
          () => [
            `PUT /v1/${collection}/${'w'.repeat(20_000)} HTTP/1.1\r\n${json}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
          ],
          () => [`PUT ${path} HTTP/1.1\r\n${json}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`],
          () => [`PUT ${path.replace('/v1/', '/v1/\u0000')} HTTP/1.1\r\nHost: x\r\n\r\n`],
          () => [`PUT ${path} HTTP/9.9\r\nHost: x\r\n\r\n`],
          () => [`PUT ${path} HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n`],
        ])();

        return wire('wire.malformed', chunks, [400]);
      },
    ],
    [
      'wire.truncated',
      2,
      () => {
        // The client declares a body, sends part of it and closes its side: the server must write nothing.
        const { collection, id } = target();
        const body = docWith(`"note":"${'t'.repeat(int(2000))}"`);
        const cut = int(body.length - 1);
        const head =
          `PUT /v1/${collection}/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${body.length}\r\n\r\n`;

        return wire('wire.truncated', [head, body.slice(0, cut)], [400, 408], { halfClose: true, allowClose: true });
      },
    ],
  ];
  const hostileTotal = hostileKinds.reduce((sum, [, weight]) => sum + weight, 0);

  return {
    next() {
      let roll = ctx.rng() * hostileTotal;
      for (const [, weight, build] of hostileKinds) {
        roll -= weight;
        if (roll < 0) return build();
      }

      return (hostileKinds[0] as (typeof hostileKinds)[number])[2]();
    },
    kinds: hostileKinds.map(([name]) => name),
  };
}
