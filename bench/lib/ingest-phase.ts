// Phase 2: ingest's PUT /v1/{c}/{id} with 100 connections and POST /v1/{c}/_bulk with 500 puts a request, then the
// same PUT on a bare Fastify handler calling the same Lua (bare-server.ts), so framework overhead is a ratio.
// No sink runs meanwhile: this is ingest alone. Every id already has a hash in Redis, so no write needs PostgreSQL.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type autocannon from 'autocannon';
import { findFreePort, ROOT } from '../../tools/local-stack';
import { type CpuBreakdown, cpuSince, cpuSnapshot, processCpuSeconds } from './cpu';
import { bulkRequests, type LoadResult, putRequests, runLoad } from './load';
import type { StackPhaseInputs } from './phase';
import { scrape, sum } from './prom';
import { COLLECTION, KEYS } from './redis-writes';

/** The bare Fastify baseline as a child process (tsx runs its TypeScript), with AppProcess's start/stop/RSS shape. */
export class BareServer {
  port = 0;
  child: ChildProcess | undefined;
  output = '';

  constructor(private readonly redisUrl: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port = await findFreePort();
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'bare-server.ts')], {
      cwd: ROOT, // tsx reads the @app/* paths from ROOT/tsconfig.json
      env: { ...process.env, REDIS_URL: this.redisUrl, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    for (const s of [child.stdout, child.stderr]) s?.setEncoding('utf8').on('data', (c: string) => (this.output += c));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`bare server exited:\n${this.output}`);
      const ok = await fetch(`${this.url}/health/live`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await sleep(100);
    }
    throw new Error(`bare server did not answer:\n${this.output}`);
  }

  rssBytes(): number | undefined {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.child?.pid}/status`, 'utf8'));

      return m ? Number(m[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

export interface IngestPhaseOptions extends StackPhaseInputs {
  durationS: number;
  warmupS: number;
  connections: number;
  bulkConnections: number;
  bulkOps: number;
}

/** A load run with where the CPU went, and for ingest the writes it accepted. */
export interface IngestRun extends LoadResult {
  cpu: CpuBreakdown;
  acceptedWrites?: number;
  opsPerRequest?: number;
}

export interface IngestResult {
  put: IngestRun;
  bulk: IngestRun;
  barePut: IngestRun;
  putToBare: number;
  rss: { ingest: number | undefined; bare: number | undefined };
}

export async function ingestPhase(o: IngestPhaseOptions): Promise<IngestResult> {
  const ingest = o.stack.ingestApp;
  const redis = o.stack.redisClient;
  const common = { ids: o.ids, docs: o.docs, collection: COLLECTION };
  const acceptedWrites = async (): Promise<number> => sum(await scrape([ingest]), 'spillway_ingest_writes_total');

  /** `serverPid`: the server under test when it is not ingest; `counted`: ingest's accepted writes are counted. */
  const measure = async (
    options: autocannon.Options,
    opsPerRequest: number,
    counted: boolean,
    serverPid?: number,
  ): Promise<IngestRun> => {
    if (o.warmupS > 0) await runLoad({ ...options, duration: o.warmupS });
    await redis.del(KEYS.stream); // keep Redis memory flat between runs
    const before = counted ? await acceptedWrites() : 0;
    const cpuBefore = cpuSnapshot(o.stack, []);
    const serverBefore = processCpuSeconds(serverPid);
    const load = await runLoad(options, opsPerRequest);
    const result: IngestRun = { ...load, cpu: cpuSince(cpuBefore, cpuSnapshot(o.stack, [])) };
    if (serverPid) {
      result.cpu.bareServerS = Number((processCpuSeconds(serverPid) - serverBefore).toFixed(1));
      result.cpu.otherS = Number(Math.max(0, result.cpu.otherS - result.cpu.bareServerS).toFixed(1));
    }
    if (counted) {
      const accepted = (await acceptedWrites()) - before;
      result.acceptedWrites = accepted;
      result.opsPerSec = Math.round(accepted / (result.durationS ?? NaN));
    }

    return result;
  };

  const put = await measure(
    putRequests(ingest.url, { ...common, seed: o.seed, connections: o.connections, durationS: o.durationS }),
    1,
    true,
  );
  o.say(
    `ingest PUT, ${o.connections} connections: ${put.requestsPerSec} req/s, p50 ${put.latencyMs.p50} ms, ` +
      `p99 ${put.latencyMs.p99} ms`,
  );
  const bulk = await measure(
    bulkRequests(ingest.url, {
      ...common,
      seed: o.seed + 1,
      connections: o.bulkConnections,
      durationS: o.durationS,
      opsPerRequest: o.bulkOps,
    }),
    o.bulkOps,
    true,
  );
  bulk.opsPerRequest = o.bulkOps;
  o.say(
    `ingest _bulk (${o.bulkOps} ops), ${o.bulkConnections} connections: ${bulk.requestsPerSec} req/s, ` +
      `${bulk.opsPerSec} ops/s`,
  );
  const ingestRss = ingest.rssBytes();

  const bare = new BareServer(o.stack.redisUrl);
  await bare.start();
  let barePut: IngestRun;
  let bareRss: number | undefined;
  try {
    barePut = await measure(
      putRequests(bare.url, { ...common, seed: o.seed, connections: o.connections, durationS: o.durationS }),
      1,
      false,
      bare.child?.pid,
    );
    bareRss = bare.rssBytes();
  } finally {
    await bare.stop();
  }
  o.say(
    `bare Fastify PUT, ${o.connections} connections: ${barePut.requestsPerSec} req/s, p99 ${barePut.latencyMs.p99} ms`,
  );
  await redis.del(KEYS.stream);

  return {
    put,
    bulk,
    barePut,
    putToBare: (put.requestsPerSec ?? 0) / (barePut.requestsPerSec ?? 0),
    rss: { ingest: ingestRss, bare: bareRss },
  };
}
