// Faults on a seeded schedule, one at a time: each kind comes once per round, in a seeded order, with seeded
// pauses, and every fault ends with the stack whole again (servers up, the replica count restored).
import { mulberry32 } from './loadgen-traffic.mjs';
import { GROUP, partitionKeys } from './stack.mjs';

export const FAULT_KINDS = [
  'sink-kill',
  'sink-kill-all',
  'sink-freeze',
  'pg-stop-fast',
  'pg-stop-immediate',
  'redis-crash',
  'sink-scale',
  'ingest-kill',
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @typedef {import('./stack.mjs').Stack} Stack
 * @typedef {{ at: number, kind: string, detail: string, ms: number }} FaultRecord
 */

/**
 * @param {{ stack: Stack, seed: number, kinds: string[], claimIdleMs: number, docs: string, startedAt: number }} params
 */
export function startFaults({ stack, seed, kinds, claimIdleMs, docs, startedAt }) {
  const random = mulberry32(seed ^ 0x5eed);
  const between = (min, max) => Math.round(min + random() * (max - min));
  const pickRunning = () => {
    const running = stack.sinks.filter((s) => s.running);
    return running[Math.floor(random() * running.length)];
  };
  /** @type {FaultRecord[]} */
  const timeline = [];
  /** @type {Record<string, number>} */
  const injected = {};
  let running = true;

  /** @type {Record<string, () => Promise<string>>} */
  const faults = {
    async 'sink-kill'() {
      const victim = pickRunning();
      if (!victim) return 'no sink running';
      await victim.kill();
      const pause = between(200, 4000);
      await sleep(pause);
      // A StatefulSet pod comes back under its name and drains its own pending entries; a Deployment pod comes
      // back under a new one, and the others must reclaim what the dead one held.
      if (random() < 0.5) {
        await victim.start();
        return `${victim.name} SIGKILL, back under its name after ${pause} ms`;
      }
      stack.sinks = stack.sinks.filter((s) => s !== victim);
      const replacement = await stack.addSink();
      return `${victim.name} SIGKILL, replaced by ${replacement.name} after ${pause} ms`;
    },

    async 'sink-kill-all'() {
      const victims = stack.sinks.filter((s) => s.running);
      await Promise.all(victims.map((s) => s.kill()));
      const pause = between(500, 4000);
      await sleep(pause);
      await Promise.all(victims.map((s) => s.start()));
      return `${victims.length} sinks SIGKILL at once, back after ${pause} ms`;
    },

    async 'sink-freeze'() {
      const zombie = pickRunning();
      if (!zombie) return 'no sink running';
      zombie.signal('SIGSTOP');
      const held = await heldBy(zombie.name);
      const pause = Math.round(claimIdleMs * (1.5 + random()));
      await sleep(pause);
      zombie.signal('SIGCONT');
      return `${zombie.name} SIGSTOP for ${pause} ms (claim idle ${claimIdleMs} ms) holding ${held} entries`;
    },

    'pg-stop-fast': () => restartPostgres('fast'),
    'pg-stop-immediate': () => restartPostgres('immediate'),

    async 'redis-crash'() {
      await stack.crashRedis();
      const pause = between(500, 3000);
      await sleep(pause);
      await stack.redisServer.start();
      return `SIGKILL, restarted on its AOF after ${pause} ms`;
    },

    async 'sink-scale'() {
      const added = await stack.addSink();
      await sleep(between(500, 3000));
      const others = stack.sinks.filter((s) => s !== added && s.running);
      const removed = others[Math.floor(random() * others.length)];
      const drainMs = removed ? await stack.removeSink(removed) : 0;
      return `scale-up ${added.name}, then scale-down ${removed?.name ?? 'none'} (SIGTERM, exited in ${drainMs} ms)`;
    },

    async 'ingest-kill'() {
      await stack.ingest.kill();
      const pause = between(200, 2000);
      await sleep(pause);
      await stack.ingest.start();
      return `SIGKILL mid-request, back after ${pause} ms`;
    },
  };

  async function restartPostgres(mode) {
    await stack.postgresServer.stop(mode);
    const pause = between(1000, 5000);
    await sleep(pause);
    await stack.postgresServer.start();
    return `${mode} shutdown, restarted after ${pause} ms`;
  }

  async function heldBy(consumer) {
    const summary = /** @type {any[]} */ (await stack.redis.xpending(partitionKeys(docs).stream, GROUP).catch(() => []));
    const row = (summary[3] ?? []).find((r) => r[0] === consumer);
    return row ? Number(row[1]) : 0;
  }

  let finishRound = false;
  let deck = [];
  const loop = (async () => {
    while (running || (finishRound && deck.length > 0)) {
      await sleep(between(1000, 3000));
      if (!running && !(finishRound && deck.length > 0)) break;
      if (deck.length === 0) deck = shuffle([...kinds], random);
      const kind = deck.shift();
      const at = Date.now();
      const detail = await faults[kind]();
      injected[kind] = (injected[kind] ?? 0) + 1;
      timeline.push({ at: Math.round((at - startedAt) / 100) / 10, kind, detail, ms: Date.now() - at });
    }
  })();

  return {
    timeline,
    injected,
    /**
     * Stops after the fault in progress, which leaves the stack whole; with `round`, only once every kind of
     * the current round has come (so a short run still sees each kind).
     */
    async stop({ round = false } = {}) {
      finishRound = round;
      running = false;
      await loop;
    },
  };
}

/** Fisher-Yates with the given PRNG. */
function shuffle(items, random) {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
