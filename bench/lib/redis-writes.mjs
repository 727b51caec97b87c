// The real writeDocument Lua script (libs/redis/src/lua, as generated for the build) and the ways the bench calls it:
// one call at a time with many in flight, pipelines, and big pipelines to pre-fill a backlog.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { partitionKeys } from '../../scripts/lib/stack.mjs';
import { ROOT } from '../../scripts/lib/stack.mjs';
import { withId } from './workload.mjs';

export const COLLECTION = 'sessions';
export const KEYS = partitionKeys(COLLECTION);

/** The Lua text the apps run: the generated module when present (it is, after a build), else generated now. */
export function writeDocumentLua() {
  const file = join(ROOT, 'libs', 'redis', 'src', 'lua', 'generated', 'writeDocument.ts');
  if (!existsSync(file)) {
    const result = spawnSync(process.execPath, [join(ROOT, 'scripts', 'generate-lua.mjs')], { stdio: 'inherit' });
    if (result.status !== 0) throw new Error('scripts/generate-lua.mjs failed');
  }
  const match = /\blua: ("(?:[^"\\]|\\.)*")/.exec(readFileSync(file, 'utf8'));
  if (!match) throw new Error(`no lua text found in ${file}`);
  return /** @type {string} */ (JSON.parse(match[1]));
}

/**
 * Registers `writeDocument` on an ioredis client, as libs/redis does (defineCommand: EVALSHA, EVAL on NOSCRIPT).
 * @param {import('ioredis').Redis} redis
 * @param {string} lua
 */
export function defineWriteDocument(redis, lua) {
  redis.defineCommand('writeDocument', { numberOfKeys: 2, lua });
}

/**
 * Arguments of one writeDocument call, as DocumentStore passes them. The floor `0:0:now` stands for "PostgreSQL
 * holds nothing": the script uses it only when Redis has no hash for the id, so no call needs a PostgreSQL read.
 * @param {'put' | 'del'} op
 * @param {string} id
 * @param {string} json document without "id"; ignored for 'del'
 * @param {number} now ms since the epoch
 */
export function writeArgs(op, id, json, now) {
  return [KEYS.document(id), KEYS.stream, op, id, op === 'put' ? withId(id, json) : '', '', `0:0:${now}`, now, 0, '0'];
}

/**
 * @param {import('ioredis').Redis} redis
 * @param {unknown[]} args
 * @returns {Promise<number>}
 */
export const callWrite = (redis, args) => /** @type {any} */ (redis).writeDocument(...args);

/**
 * @param {import('ioredis').Redis} redis
 * @param {unknown[][]} calls
 * @returns {Promise<number[]>} each call's result
 */
export async function pipelineWrites(redis, calls) {
  const pipeline = /** @type {any} */ (redis.pipeline());
  for (const args of calls) pipeline.writeDocument(...args);
  const replies = /** @type {[Error | null, number][]} */ (await pipeline.exec());
  return replies.map(([error, result]) => {
    if (error) throw error;
    return result;
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
    () => (next < ids.length ? writeArgs('put', ids[next], docs[next++ % docs.length], Date.now()) : undefined),
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
      return writeArgs('del', id, '', now);
    }
    counts[live.has(id) && roll < mix.delete + mix.patch ? 'patch' : 'put'] += 1;
    live.add(id);
    return writeArgs('put', id, doc, now);
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
