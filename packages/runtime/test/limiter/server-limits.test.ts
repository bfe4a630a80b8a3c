import { Redis } from 'ioredis';
import { RateLimitedError } from '@tessera/core';
import { RedisRateGate } from '../../src/limiter';
import { startOpenAIServer, type OpenAIServer } from '../../../../test/support/openai-server';
import { deletePrefix, newRedis, testPrefix } from './support';

let server: OpenAIServer;
let redis: Redis;
const prefix = testPrefix();

beforeAll(async () => {
  server = await startOpenAIServer({ rpm: 300, tpm: 6000, requestWindowMs: 1000 });
  redis = newRedis();
});
afterAll(async () => {
  await server.close();
  await deletePrefix(redis, prefix);
  await redis.quit();
});

const embed = (input: string, model = 'm') =>
  fetch(`${server.url}/embeddings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, input, dimensions: 4 }),
  });

test('the test server enforces its RPM per model with real 429s and rate-limit headers', async () => {
  const res = await Promise.all(Array.from({ length: 8 }, (_, i) => embed(`text ${i}`)));
  const statuses = res.map((r) => r.status).sort();
  expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]); // 300 RPM = 5 per 1 s window
  const refused = res.find((r) => r.status === 429)!;
  expect(Number(refused.headers.get('retry-after-ms'))).toBeGreaterThan(0);
  expect(refused.headers.get('retry-after')).toBe('1');
  expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('300');
  expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
  expect(refused.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+ms$/);
  expect((await embed('other model', 'n')).status).toBe(200); // limits are per model
  expect(server.maxRequestsInWindow(1000, 'm')).toBe(8); // arrivals are counted, refused or not
});

test('the gate learns the limits and the pause from those headers', async () => {
  const ok = await embed('learn from me', 'learned');
  const headers = Object.fromEntries(ok.headers.entries());
  const gate = new RedisRateGate({ redis, prefix, env: {}, maxWaitMs: 0 });
  const key = { provider: 'local', model: 'learned' };
  await gate.learn(key, headers); // 300 RPM, 6000 TPM: one request per 200 ms at 0.95
  await gate.acquire(key, 0);
  const e = await gate.acquire(key, 0).then(
    () => undefined,
    (err: unknown) => err as RateLimitedError,
  );
  expect(e).toBeInstanceOf(RateLimitedError);
  expect(e!.waitMs).toBeGreaterThan(150);
  expect(e!.waitMs).toBeLessThanOrEqual(211);
});
