// autocannon runs: PUTs of ~300-byte documents to random ids, and _bulk requests of 500 puts.
import autocannon from 'autocannon';
import { distinctBatch, idPicker, seededRandom } from './workload.mjs';
import { round } from './stats.mjs';

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * @param {string} url base URL of the server
 * @param {{ ids: string[], docs: string[], seed: number, connections: number, durationS: number, rate?: number,
 *           collection: string }} o
 */
export function putRequests(url, o) {
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

/**
 * @param {string} url
 * @param {{ ids: string[], docs: string[], seed: number, connections: number, durationS: number, opsPerRequest: number,
 *           collection: string, bodies?: number }} o
 */
export function bulkRequests(url, o) {
  const pick = idPicker(seededRandom(o.seed), o.ids);
  let d = 0;
  const bodies = Array.from({ length: o.bodies ?? 40 }, () => {
    const ops = distinctBatch(pick, o.opsPerRequest).map((id) => `{"op":"put","id":"${id}","doc":${o.docs[d++ % o.docs.length]}}`);
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
        setupRequest: (request) => ({ ...request, path: `/v1/${o.collection}/_bulk`, body: bodies[n++ % bodies.length] }),
      },
    ],
  };
}

/**
 * Runs autocannon and keeps what the report needs.
 * @param {Record<string, unknown>} options
 * @param {number} [opsPerRequest]
 */
export async function runLoad(options, opsPerRequest = 1) {
  const result = await autocannon(/** @type {any} */ ({ ...options, timeout: 30 }));
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
