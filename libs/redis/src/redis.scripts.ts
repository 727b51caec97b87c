import type { Redis, Result } from 'ioredis';
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
    writeDocument(
      documentKey: string,
      streamKey: string,
      op: 'put' | 'del',
      id: string,
      doc: string,
      expectedVersion: string,
      floor: string,
      nowMs: number,
      ttlSeconds: number,
      createOnly: '0' | '1',
    ): Result<number, Context>;
    appendEvent(
      eventKey: string,
      streamKey: string,
      id: string,
      doc: string,
      nowMs: number,
      ttlSeconds: number,
    ): Result<number, Context>;
    dropTombstone(documentKey: string, version: number, lingerSeconds: number): Result<number, Context>;
    /** After the group: per entry its id, reason, deliveries, field count and fields (deadLetter-2.lua). */
    deadLetter(streamKey: string, deadLetterKey: string, group: string, ...entries: (string | number)[]): Result<number, Context>;
    /** Versions of document hashes (0 where none): the key count, then the keys (documentVersions-n.lua). */
    documentVersions(numberOfKeys: number, ...documentKeys: string[]): Result<number[], Context>;
  }
}

/** Registers every script on a connection; ioredis sends EVALSHA and loads the script once on NOSCRIPT. */
export function defineSpillwayScripts(redis: Redis): Redis {
  for (const script of Object.values(scripts)) {
    redis.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  }

  return redis;
}
