import { RateLimitedError, ConfigError } from '@tessera/core';
import { Redis } from 'ioredis';
import { RedisRateGate, parseGoDuration, parseLimitTable, parseRateLimitHeaders } from '../../src/limiter';
import { deletePrefix, newRedis, testPrefix } from './support';

let redis: Redis;
const prefixes: string[] = [];
const gateWith = (opts: Partial<ConstructorParameters<typeof RedisRateGate>[0]> = {}) => {
  const prefix = testPrefix();
  prefixes.push(prefix);
  return new RedisRateGate({ redis, prefix, env: {}, utilization: 1, ...opts });
};
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as RateLimitedError,
  );
const key = { provider: 'openai', model: 'm' };

beforeAll(() => {
  redis = newRedis();
});
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  await redis.quit();
});

describe('RedisRateGate', () => {
  test('requests are spaced by 60 000 / rpm on the Redis clock', async () => {
    const gate = gateWith({ limits: { 'openai:m': { rpm: 600 } }, maxWaitMs: 0 });
    await gate.acquire(key, 0);
    const e = await refusal(gate.acquire(key, 0));
    expect(e).toBeInstanceOf(RateLimitedError);
    expect(e!.waitMs).toBeGreaterThan(50);
    expect(e!.waitMs).toBeLessThanOrEqual(100);
  });

  test('short waits are taken in-process (a reserved future slot)', async () => {
    const events: string[] = [];
    const gate = gateWith({ limits: { 'openai:m': { rpm: 1200 } }, maxWaitMs: 1000, onEvent: (e) => events.push(e.type) });
    const granted = await Promise.all(Array.from({ length: 5 }, () => gate.acquire(key, 0))); // 5 slots 50 ms apart, all within 1 s
    expect(events.filter((e) => e === 'granted')).toHaveLength(5);
    expect(granted.filter((r) => (r.waitedMs ?? 0) > 0)).toHaveLength(4); // all but the first slept for theirs
    expect(events).not.toContain('refused');
  });

  test('a refusal says when to come back: once the slot is within half the in-process wait', async () => {
    const gate = gateWith({ limits: { 'openai:m': { rpm: 30 } }, maxWaitMs: 1000 }); // 2 s apart
    const first = await gate.acquire(key, 0);
    expect(first.waitedMs).toBe(0);
    const e = await refusal(gate.acquire(key, 0));
    expect(e).toBeInstanceOf(RateLimitedError);
    // the next slot is 2 000 ms away; back after 1 500 it waits about 500 ms in-process
    expect(e!.waitMs).toBeGreaterThan(1400);
    expect(e!.waitMs).toBeLessThanOrEqual(1500);
  });

  test('tokens are reserved and settled against actual usage', async () => {
    const gate = gateWith({ limits: { 'openai:m': { tpm: 6000 } }, maxWaitMs: 0 }); // 100 tokens/s
    const r = await gate.acquire(key, 500);
    const before = await refusal(gate.acquire(key, 1));
    expect(before!.waitMs).toBeGreaterThan(4000); // 500 tokens = 5 s of budget
    await r.settle(100); // the response used only 100: 400 come back
    const after = await refusal(gate.acquire(key, 1));
    expect(after!.waitMs).toBeLessThanOrEqual(1000);
    expect(after!.waitMs).toBeGreaterThan(500);
  });

  test('an overrun is charged at settle', async () => {
    const gate = gateWith({ limits: { 'openai:m': { tpm: 6000 } }, maxWaitMs: 0 });
    const r = await gate.acquire(key, 100);
    await r.settle(1100);
    const e = await refusal(gate.acquire(key, 1));
    expect(e!.waitMs).toBeGreaterThan(10_000);
  });

  test('max concurrency across callers, freed by settle or by the lease', async () => {
    const gate = gateWith({ limits: { 'openai:m': { maxConcurrency: 2 } }, maxWaitMs: 100, leaseMs: 300 });
    const a = await gate.acquire(key, 0);
    await gate.acquire(key, 0); // never settled: its lease frees it
    const e = await refusal(gate.acquire(key, 0));
    expect(e).toBeInstanceOf(RateLimitedError);
    await a.settle(0);
    await gate.acquire(key, 0);
    await new Promise((r) => setTimeout(r, 350));
    await gate.acquire(key, 0);
  });

  test('pause blocks the bucket for everyone, and only that bucket', async () => {
    const gate = gateWith({ maxWaitMs: 0 });
    const other = new RedisRateGate({ redis, prefix: prefixes.at(-1)!, env: {}, maxWaitMs: 0 }); // another worker
    await gate.pause(key, 3000);
    const e = await refusal(other.acquire(key, 0));
    expect(e!.waitMs).toBeGreaterThan(2500);
    expect(e!.message).toContain('pause');
    await other.acquire({ provider: 'openai', model: 'other' }, 0);
    await other.acquire({ ...key, keyHash: 'another-key' }, 0);
    await gate.pause(key, 10); // pauses only ever extend
    expect((await refusal(other.acquire(key, 0)))!.waitMs).toBeGreaterThan(2000);
  });

  test('a slot reserved before a pause is given back, not used', async () => {
    const gate = gateWith({ limits: { 'openai:m': { rpm: 120 } }, maxWaitMs: 2000 }); // 500 ms apart
    await gate.acquire(key, 0);
    const second = gate.acquire(key, 0).then(() => Date.now());
    await new Promise((r) => setTimeout(r, 100));
    const pausedAt = Date.now();
    await gate.pause(key, 1500);
    // the sleeper woke at its slot (500 ms), saw the pause, gave the slot back and queued again behind it
    expect((await second) - pausedAt).toBeGreaterThanOrEqual(1400);
  });

  test('limits learned from response headers', async () => {
    const gate = gateWith({ maxWaitMs: 0 });
    await gate.learn(key, { 'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '59', 'x-ratelimit-reset-requests': '1s' });
    await gate.acquire(key, 0);
    const e = await refusal(gate.acquire(key, 0));
    expect(e!.waitMs).toBeGreaterThan(900); // 60 rpm: one a second
    const k2 = { provider: 'openai', model: 'n' };
    await gate.learn(k2, { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '2s' });
    expect((await refusal(gate.acquire(k2, 0)))!.waitMs).toBeGreaterThan(1500);
  });

  test('configured limits: environment over pipeline over code', async () => {
    const gate = gateWith({
      env: { TESSERA_RATE_LIMITS: '{"openai:m": {"rpm": 100}, "openai:*": {"tpm": 5000}}' },
      limits: { '*': { rpm: 1, tpm: 1, maxConcurrency: 3 } },
    });
    expect(gate.limitsFor({ ...key, limits: { rpm: 50, tpm: 10 } })).toEqual({ rpm: 100, tpm: 5000, maxConcurrency: 3 });
    expect(gate.limitsFor({ provider: 'anthropic', model: 'x', limits: { tpm: 10 } })).toEqual({ rpm: 1, tpm: 10, maxConcurrency: 3 });
  });
});

describe('limit configuration and headers', () => {
  test('TESSERA_RATE_LIMITS is validated', () => {
    expect(parseLimitTable('{"openai:gpt-4o-mini": {"rpm": 500, "tpm": 200000, "maxConcurrency": 8}}')).toEqual({
      'openai:gpt-4o-mini': { rpm: 500, tpm: 200000, maxConcurrency: 8 },
    });
    expect(() => parseLimitTable('{"openai:m": {"rpm": -1}}')).toThrow(ConfigError);
    expect(() => parseLimitTable('{"openai:m": {"rps": 1}}')).toThrow(/unknown field/);
    expect(() => parseLimitTable('nope')).toThrow(/not valid JSON/);
  });

  test('Go-style durations', () => {
    expect(parseGoDuration('1m33.792s')).toBeCloseTo(93792);
    expect(parseGoDuration('857ms')).toBe(857);
    expect(parseGoDuration('6m0s')).toBe(360000);
    expect(parseGoDuration('2')).toBe(2000);
    expect(parseGoDuration('soon')).toBeUndefined();
  });

  test('OpenAI and Anthropic headers', () => {
    expect(parseRateLimitHeaders({ 'x-ratelimit-limit-tokens': '200000', 'x-ratelimit-reset-tokens': '20ms' })).toMatchObject({
      limitTokens: 200000,
      resetTokensMs: 20,
      limitRequests: -1,
    });
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(
      parseRateLimitHeaders(
        {
          'anthropic-ratelimit-requests-limit': '50',
          'anthropic-ratelimit-requests-remaining': '0',
          'anthropic-ratelimit-requests-reset': '2026-01-01T00:00:05Z',
        },
        now,
      ),
    ).toMatchObject({ limitRequests: 50, remainingRequests: 0, resetRequestsMs: 5000 });
  });
});
