// autocannon runs: PUTs of ~300-byte documents to random ids, and _bulk requests of 500 puts.
import autocannon from 'autocannon';
import { round } from './stats';
import { distinctBatch, idPicker, seededRandom } from './workload';

const JSON_HEADERS = { 'content-type': 'application/json' };

export interface PutLoad {
  ids: string[];
  docs: string[];
  seed: number;
  connections: number;
  durationS: number;
  /** requests a second over all connections; as fast as the server answers when absent */
  rate?: number;
  collection: string;
}

/** PUT /v1/<collection>/<id> to ids picked at random, the documents in turn. */
export function putRequests(url: string, o: PutLoad): autocannon.Options {
  const pick = idPicker(seededRandom(o.seed), o.ids);
  let n = 0;

  return {
    url,
    connections: o.connections,
    duration: o.durationS,
    ...(o.rate ? { overallRate: o.rate } : {}),
    requests: [
      {
        method: 'PUT',
        headers: JSON_HEADERS,
        setupRequest: (request) => ({
          ...request,
          path: `/v1/${o.collection}/${pick()}`,
          body: o.docs[n++ % o.docs.length],
        }),
      },
    ],
  };
}

export interface BulkLoad {
  ids: string[];
  docs: string[];
  seed: number;
  connections: number;
  durationS: number;
  opsPerRequest: number;
  collection: string;
  /** distinct request bodies, sent in turn (default 40) */
  bodies?: number;
}

/** POST /v1/<collection>/_bulk, each request `opsPerRequest` puts of distinct ids. */
export function bulkRequests(url: string, o: BulkLoad): autocannon.Options {
  const pick = idPicker(seededRandom(o.seed), o.ids);
  let d = 0;
  const bodies = Array.from({ length: o.bodies ?? 40 }, () => {
    const ops = distinctBatch(pick, o.opsPerRequest).map(
      (id) => `{"op":"put","id":"${id}","doc":${o.docs[d++ % o.docs.length]}}`,
    );

    return `{"ops":[${ops.join(',')}]}`;
  });
  let n = 0;

  return {
    url,
    connections: o.connections,
    duration: o.durationS,
    requests: [
      {
        method: 'POST',
        headers: JSON_HEADERS,
        setupRequest: (request) => ({
          ...request,
          path: `/v1/${o.collection}/_bulk`,
          body: bodies[n++ % bodies.length],
        }),
      },
    ],
  };
}

/** What the report keeps of an autocannon run. */
export interface LoadResult {
  connections: number;
  durationS: number | null;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  requestsPerSec: number | null;
  opsPerSec: number | null;
  latencyMs: { p50: number; p99: number; max: number };
}

/** Runs autocannon and keeps what the report needs. */
export async function runLoad(options: autocannon.Options, opsPerRequest = 1): Promise<LoadResult> {
  const result = await autocannon({ ...options, timeout: 30 });
  const ok = result['2xx'];
  const seconds = result.duration;

  return {
    connections: result.connections,
    durationS: round(seconds, 1),
    requests: result.requests.total,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    requestsPerSec: round(ok / seconds),
    opsPerSec: round((ok * opsPerRequest) / seconds),
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  };
}
