// The real writeDocuments Lua script (libs/redis/src/lua, as generated for the build) and the ways the bench calls it:
// one document a call with many calls in flight, pipelines of such calls, many documents a call, and big pipelines
// to pre-fill a backlog.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { partitionKeys } from '../../scripts/lib/stack.mjs';
import { ROOT } from '../../scripts/lib/stack.mjs';
import { withId } from './workload.mjs';

export const COLLECTION = 'sessions';
export const KEYS = partitionKeys(COLLECTION);

/** The Lua text the apps run: the generated module when present (it is, after a build), else generated now. */
export function writeDocumentsLua() {
  const file = join(ROOT, 'libs', 'redis', 'src', 'lua', 'generated', 'writeDocuments.ts');
  if (!existsSync(file)) {
    const result = spawnSync(process.execPath, [join(ROOT, 'scripts', 'generate-lua.mjs')], { stdio: 'inherit' });
    if (result.status !== 0) throw new Error('scripts/generate-lua.mjs failed');
  }
  const match = /\blua: ("(?:[^"\\]|\\.)*")/.exec(readFileSync(file, 'utf8'));
  if (!match) throw new Error(`no lua text found in ${file}`);
  return /** @type {string} */ (JSON.parse(match[1]));
}

/**
 * Registers `writeDocuments` on an ioredis client, as libs/redis does (defineCommand: EVALSHA, EVAL on NOSCRIPT;
 * the key count comes first in each call).
 * @param {import('ioredis').Redis} redis
 * @param {string} lua
 */
export function defineWriteDocuments(redis, lua) {
  redis.defineCommand('writeDocuments', { lua });
}

/**
 * Arguments of one writeDocuments call, as DocumentStore lays them out (writeDocumentsArgs in libs/redis). The floor
 * `0:0:now` stands for "PostgreSQL holds nothing": the script uses it only when Redis has no hash for the id, so no
 * call needs a PostgreSQL read.
 * @param {{ op: 'put' | 'del', id: string, json: string }[]} changes json: the document without "id"; '' for 'del'
 * @param {number} now ms since the epoch
 */
export function writeArgs(changes, now) {
  const keys = [KEYS.stream];
  const argv = [now, 0];
  for (const { op, id, json } of changes) {
    keys.push(KEYS.document(id));
    argv.push(op, id, op === 'put' ? withId(id, json) : '', '', `0:0:${now}`, '0');
  }
  return [keys.length, ...keys, ...argv];
}

/**
 * @param {import('ioredis').Redis} redis
 * @param {unknown[]} args
 * @returns {Promise<number[]>} per change its result
 */
export const callWrite = (redis, args) => /** @type {any} */ (redis).writeDocuments(...args);

/**
 * @param {import('ioredis').Redis} redis
 * @param {unknown[][]} calls
 * @returns {Promise<number[]>} the results of every change of every call, in order
 */
export async function pipelineWrites(redis, calls) {
  const pipeline = /** @type {any} */ (redis.pipeline());
  for (const args of calls) pipeline.writeDocuments(...args);
  const replies = /** @type {[Error | null, number[]][]} */ (await pipeline.exec());
  return replies.flatMap(([error, results]) => {
    if (error) throw error;
    return results;
  });
}

/**
 * Runs `makeCall` as a stream of pipelines of `batchSize`, `inFlight` at a time, until it returns undefined.
 * @param {import('ioredis').Redis} redis
 * @param {() => unknown[] | undefined} makeCall
 * @param {{ batchSize: number, inFlight: number, onResults?: (calls: unknown[][], results: number[]) => void }} options
 */
export async function pipelined(redis, makeCall, { batchSize, inFlight, onResults }) {
  let done = false;
  const worker = async () => {
    while (!done) {
      const calls = [];
      while (calls.length < batchSize) {
        const call = makeCall();
        if (call === undefined) {
          done = true;
          break;
        }
        calls.push(call);
      }
      if (calls.length === 0) return;
      const results = await pipelineWrites(redis, calls);
      onResults?.(calls, results);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/**
 * Writes every id once (a put), so that later writes find a hash and never need PostgreSQL's version floor.
 * @param {import('ioredis').Redis} redis
 * @param {string[]} ids
 * @param {string[]} docs
 */
export async function seedDocuments(redis, ids, docs) {
  let next = 0;
  await pipelined(
    redis,
    () => (next < ids.length ? writeArgs([{ op: 'put', id: ids[next], json: docs[next++ % docs.length] }], Date.now()) : undefined),
    { batchSize: 1000, inFlight: 4 },
  );
}

/**
 * Appends `entries` changes to the stream through the Lua script: puts, patches (a put of the merged document, as
 * ingest writes a PATCH) and deletes, in the given shares, over the ids `pick` returns. Deletes and patches go only
 * to ids that are live, so every call appends an entry. Returns the mix actually written.
 * @param {import('ioredis').Redis} redis
 * @param {{ entries: number, pick: () => string, docs: string[], random: () => number,
 *           mix?: { patch: number, delete: number } }} options
 */
export async function fillBacklog(redis, { entries, pick, docs, random, mix = { patch: 0.2, delete: 0.05 } }) {
  const live = new Set();
  const counts = { put: 0, patch: 0, delete: 0, refused: 0 };
  let issued = 0;
  let now = Date.now();
  const makeCall = () => {
    if (issued >= entries) return undefined;
    issued += 1;
    if ((issued & 1023) === 0) now = Date.now();
    const id = pick();
    const roll = random();
    const doc = docs[issued % docs.length];
    if (live.has(id) && roll < mix.delete) {
      live.delete(id);
      counts.delete += 1;
      return writeArgs([{ op: 'del', id, json: '' }], now);
    }
    counts[live.has(id) && roll < mix.delete + mix.patch ? 'patch' : 'put'] += 1;
    live.add(id);
    return writeArgs([{ op: 'put', id, json: doc }], now);
  };
  await pipelined(redis, makeCall, {
    batchSize: 2000,
    inFlight: 3,
    onResults: (_, results) => {
      for (const r of results) if (r <= 0) counts.refused += 1;
    },
  });
  return counts;
}
