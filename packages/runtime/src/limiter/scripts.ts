import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** One Lua script from ./lua, run by SHA with a fallback to EVAL the first time a server sees it. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

const read = (name: string): string => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');

/** Each script is the shared prelude (clock, effective limit, pause, TTL helpers) followed by its own body. */
const PRELUDE = read('prelude');

function load(name: string): LuaScript {
  const source = `${PRELUDE}\n${read(name)}`;
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** The limiter's atomic operations, one script each (as BullMQ keeps its scripts). */
export const scripts = {
  reserve: load('reserve'),
  settle: load('settle'),
  pause: load('pause'),
  learn: load('learn'),
};

export async function runScript(redis: Redis, script: LuaScript, keys: string[], args: Array<string | number>): Promise<unknown> {
  const argv = args.map(String);
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...argv);
  } catch (err) {
    if (err instanceof Error && err.message.includes('NOSCRIPT')) {
      return redis.eval(script.source, keys.length, ...keys, ...argv);
    }
    throw err;
  }
}
