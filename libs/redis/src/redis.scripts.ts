import type { Result } from 'ioredis';
import type { RedisClient } from './redis-client';
import * as scripts from './lua/generated';

/** Reply codes below zero that Spillway's Lua scripts return for a refused write. */
export enum ScriptErrorCode {
  NOT_FOUND = -1,
  VERSION_MISMATCH = -2,
  NEED_FLOOR = -3,
  ALREADY_EXISTS = -4,
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** The key count, then the keys and arguments {@link writeDocumentsArgs} lays out; per change its result. */
    writeDocuments(...countKeysAndArgs: (string | number)[]): Result<number[], Context>;
    /** The key count, then the keys and arguments {@link appendEventsArgs} lays out; per event 1 appended, 0 duplicate. */
    appendEvents(...countKeysAndArgs: (string | number)[]): Result<number[], Context>;
    dropTombstone(documentKey: string, version: number, lingerSeconds: number): Result<number, Context>;
    /** After the group: per entry its id, reason, deliveries, field count and fields (deadLetter-2.lua). */
    deadLetter(
      streamKey: string,
      deadLetterKey: string,
      group: string,
      ...entries: (string | number)[]
    ): Result<number, Context>;
    /**
     * The key count, then the epoch key, the stream and the document keys, then a new epoch token: the epoch, the
     * stream's last entry id, then each document's version, 0 where Redis holds none (documentVersions-n.lua).
     */
    documentVersions(numberOfKeys: number, ...keysAndArgs: string[]): Result<[string, string, ...number[]], Context>;
    /**
     * Renews the member's place in a lease set, or takes one if the set has room (`room` 0: no limit): whether it
     * holds one now, the server time (ms) and the members holding one, sorted (holdLease-1.lua).
     */
    holdLease(
      leaseKey: string,
      member: string,
      holdMs: number,
      room: number,
    ): Result<[0 | 1, number, string[]], Context>;
    /** One request against a client's rate limit: 0 to go ahead, else ms until one may (limitRate-1.lua, GCRA). */
    limitRate(rateKey: string, intervalUs: number, toleranceUs: number): Result<number, Context>;
  }
}

/** PostgreSQL's state of a document, for a write to an id whose hash Redis no longer holds. */
export interface VersionFloor {
  version: number;
  live: boolean;
  /** When it was read (ms since the epoch): writeDocuments refuses a floor read too long ago. */
  readAtMs: number;
}

/** The {@link ScriptChange.floor} argument of a floor. */
export function versionFloorArg(floor: VersionFloor): string {
  return `${floor.version}:${floor.live ? 1 : 0}:${floor.readAtMs}`;
}

/** One change for writeDocuments-n.lua; the fields are those of includes/writeChange.lua. */
export interface ScriptChange {
  documentKey: string;
  op: 'put' | 'del';
  id: string;
  /** JSON text of the new document; '' for a delete. */
  doc: string;
  /** '' for none */
  expectedVersion: string;
  /** '' until PostgreSQL was read, else {@link versionFloorArg}: '<version>:<1 if live, else 0>:<read at, ms>' */
  floor: string;
  createOnly: '0' | '1';
}

/** The arguments of one writeDocuments call: changes of one partition, applied in this order. */
export function writeDocumentsArgs(
  streamKey: string,
  nowMs: number,
  ttlSeconds: number,
  changes: ScriptChange[],
): (string | number)[] {
  return perItemArgs(
    streamKey,
    nowMs,
    ttlSeconds,
    changes,
    (c) => c.documentKey,
    (c) => [c.op, c.id, c.doc, c.expectedVersion, c.floor, c.createOnly],
  );
}

/** One event for appendEvents-n.lua. */
export interface ScriptEvent {
  eventKey: string;
  id: string;
  /** the event's JSON text */
  doc: string;
}

/** The arguments of one appendEvents call: events of one partition, appended in this order. */
export function appendEventsArgs(
  streamKey: string,
  nowMs: number,
  ttlSeconds: number,
  events: ScriptEvent[],
): (string | number)[] {
  return perItemArgs(
    streamKey,
    nowMs,
    ttlSeconds,
    events,
    (e) => e.eventKey,
    (e) => [e.id, e.doc],
  );
}

/**
 * The layout both per-item scripts share: the key count; KEYS = the stream, then each item's hash; ARGV = now, the
 * TTL, then each item's fields.
 */
function perItemArgs<T>(
  streamKey: string,
  nowMs: number,
  ttlSeconds: number,
  items: T[],
  keyOf: (item: T) => string,
  fieldsOf: (item: T) => (string | number)[],
): (string | number)[] {
  const keys: string[] = [streamKey];
  const argv: (string | number)[] = [nowMs, ttlSeconds];
  for (const item of items) {
    keys.push(keyOf(item));
    argv.push(...fieldsOf(item));
  }

  return [keys.length, ...keys, ...argv];
}

/**
 * Registers every script on a connection, one server's or a cluster's; ioredis sends EVALSHA and loads the script
 * once on NOSCRIPT (on a cluster, on each master as it is first called there).
 */
export function defineSpillwayScripts<T extends RedisClient>(redis: T): T {
  for (const script of Object.values(scripts)) {
    redis.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  }

  return redis;
}
