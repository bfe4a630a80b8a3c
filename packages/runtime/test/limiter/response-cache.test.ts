import { Redis } from 'ioredis';
import { chatUdf, embeddingsUdf, type ModelUdfContext } from '@tessera/functions';
import { RedisResponseCache } from '../../src/limiter';
import { startOpenAIServer, type OpenAIServer } from '../../../../test/support/openai-server';
import { deletePrefix, newRedis, testPrefix } from './support';

let redis: Redis;
let server: OpenAIServer;
const prefix = testPrefix();

beforeAll(async () => {
  redis = newRedis();
  server = await startOpenAIServer();
  process.env.TESSERA_TEST_CACHE_KEY = 'sk-cache-test';
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
  await server.close();
});

const ctxWith = (cache: RedisResponseCache, usage: Record<string, number>): ModelUdfContext => ({
  media: { defaultDestination: 'file:///tmp', localPath: async (r) => r, write: async () => '' },
  column: { table: 't', name: 'c' },
  cache,
  usage: (c, n) => {
    usage[c] = (usage[c] ?? 0) + n;
  },
});

test('get, set, getMany, setMany, JSON values', async () => {
  const cache = new RedisResponseCache(redis, { prefix, ttlSeconds: 60 });
  expect(await cache.get('missing')).toBeUndefined();
  await cache.set('a', { v: [1, 2] });
  await cache.setMany([['b', 'x'], ['c', null]]);
  expect(await cache.getMany(['a', 'b', 'c', 'd'])).toEqual([{ v: [1, 2] }, 'x', null, undefined]);
  expect(await redis.ttl(`${prefix}a`)).toBeGreaterThan(0);
});

test('a call answered by one worker is not made again by another', async () => {
  const conn = { baseURL: server.url, apiKeyEnv: 'TESSERA_TEST_CACHE_KEY' };
  const chat = chatUdf({ ...conn, model: 'cache-chat' });
  const embed = embeddingsUdf({ ...conn, model: 'cache-embed', dimensions: 8 });
  const u1: Record<string, number> = {};
  const u2: Record<string, number> = {};
  // two workers: separate cache clients over the same Redis
  const w1 = ctxWith(new RedisResponseCache(redis, { prefix }), u1);
  const w2 = ctxWith(new RedisResponseCache(newRedisShared(), { prefix }), u2);

  const a = await chat.spec.fn!(['same question'], w1);
  const rows = ['one', 'two', 'three'].map((s) => [s] as [string]);
  const v1 = await embed.spec.batch!.fn(rows, w1);
  expect(server.count()).toBe(2);

  expect(await chat.spec.fn!(['same question'], w2)).toBe(a);
  expect(await embed.spec.batch!.fn(rows, w2)).toEqual(v1);
  expect(server.count()).toBe(2); // zero model calls the second time
  expect(u2.calls ?? 0).toBe(0);
  expect(u2.cacheHits).toBe(4);
  await shared?.quit();
});

let shared: Redis | undefined;
function newRedisShared() {
  shared = newRedis();
  return shared;
}
