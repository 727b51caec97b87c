// Phase 2: ingest's PUT /v1/{c}/{id} with 100 connections and POST /v1/{c}/_bulk with 500 puts a request, then the
// same PUT on a bare Fastify handler calling the same Lua (bare-server.mjs), so framework overhead is a ratio.
// No sink runs meanwhile: this is ingest alone. Every id already has a hash in Redis, so no write needs PostgreSQL.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { bulkRequests, putRequests, runLoad } from './load.mjs';
import { COLLECTION, KEYS } from './redis-writes.mjs';
import { scrape, sum } from './prom.mjs';
import { sleep } from './stats.mjs';
import { cpuSince, cpuSnapshot, processCpuSeconds } from './cpu.mjs';

const require = createRequire(import.meta.url);
const servers = require('../../scripts/lib/servers.js');

/** The bare Fastify baseline as a child process, with the start/kill/RSS shape of stack.mjs's AppProcess. */
export class BareServer {
  /** @param {string} redisUrl */
  constructor(redisUrl) {
    this.redisUrl = redisUrl;
    this.port = 0;
    /** @type {import('node:child_process').ChildProcess | undefined} */
    this.child = undefined;
    this.output = '';
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    this.port = await servers.findFreePort();
    const script = fileURLToPath(new URL('./bare-server.mjs', import.meta.url));
    this.child = spawn(process.execPath, [script], {
      env: { ...process.env, REDIS_URL: this.redisUrl, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const s of [this.child.stdout, this.child.stderr]) s?.setEncoding('utf8').on('data', (c) => (this.output += c));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`bare server exited:\n${this.output}`);
      const ok = await fetch(`${this.url}/health/live`).then((r) => r.ok, () => false);
      if (ok) return;
      await sleep(100);
    }
    throw new Error(`bare server did not answer:\n${this.output}`);
  }

  rssBytes() {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.child?.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  async stop() {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child?.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * @param {{ stack: import('../../scripts/lib/stack.mjs').Stack, ids: string[], docs: string[], seed: number,
 *           durationS: number, warmupS: number, connections: number, bulkConnections: number, bulkOps: number,
 *           say: (s: string) => void }} o
 */
export async function ingestPhase(o) {
  const ingest = /** @type {import('../../scripts/lib/stack.mjs').AppProcess} */ (o.stack.ingest);
  const redis = /** @type {import('ioredis').Redis} */ (o.stack.redis);
  const common = { ids: o.ids, docs: o.docs, collection: COLLECTION };
  const acceptedWrites = async () => sum(await scrape([ingest]), 'spillway_ingest_writes_total');

  /**
   * @param {Record<string, unknown>} options @param {number} opsPerRequest @param {boolean} counted
   * @param {number} [serverPid] the server under test when it is not ingest
   */
  const measure = async (options, opsPerRequest, counted, serverPid) => {
    if (o.warmupS > 0) await runLoad({ ...options, duration: o.warmupS });
    await redis.del(KEYS.stream); // keep Redis memory flat between runs
    const before = counted ? await acceptedWrites() : 0;
    const cpuBefore = cpuSnapshot(o.stack, []);
    const serverBefore = processCpuSeconds(serverPid);
    /** @type {any} */
    const result = await runLoad(options, opsPerRequest);
    result.cpu = cpuSince(cpuBefore, cpuSnapshot(o.stack, []));
    if (serverPid) {
      result.cpu.bareServerS = Number((processCpuSeconds(serverPid) - serverBefore).toFixed(1));
      result.cpu.otherS = Number(Math.max(0, result.cpu.otherS - result.cpu.bareServerS).toFixed(1));
    }
    if (counted) {
      const accepted = (await acceptedWrites()) - before;
      result.acceptedWrites = accepted;
      result.opsPerSec = Math.round(accepted / result.durationS);
    }
    return result;
  };

  const put = await measure(putRequests(ingest.url, { ...common, seed: o.seed, connections: o.connections, durationS: o.durationS }), 1, true);
  o.say(`ingest PUT, ${o.connections} connections: ${put.requestsPerSec} req/s, p50 ${put.latencyMs.p50} ms, p99 ${put.latencyMs.p99} ms`);
  const bulk = await measure(
    bulkRequests(ingest.url, { ...common, seed: o.seed + 1, connections: o.bulkConnections, durationS: o.durationS, opsPerRequest: o.bulkOps }),
    o.bulkOps,
    true,
  );
  bulk.opsPerRequest = o.bulkOps;
  o.say(`ingest _bulk (${o.bulkOps} ops), ${o.bulkConnections} connections: ${bulk.requestsPerSec} req/s, ${bulk.opsPerSec} ops/s`);
  const ingestRss = ingest.rssBytes();

  const bare = new BareServer(o.stack.redisUrl);
  await bare.start();
  let barePut;
  let bareRss;
  try {
    barePut = await measure(putRequests(bare.url, { ...common, seed: o.seed, connections: o.connections, durationS: o.durationS }), 1, false, bare.child?.pid);
    bareRss = bare.rssBytes();
  } finally {
    await bare.stop();
  }
  o.say(`bare Fastify PUT, ${o.connections} connections: ${barePut.requestsPerSec} req/s, p99 ${barePut.latencyMs.p99} ms`);
  await redis.del(KEYS.stream);
  return { put, bulk, barePut, putToBare: put.requestsPerSec / barePut.requestsPerSec, rss: { ingest: ingestRss, bare: bareRss } };
}
