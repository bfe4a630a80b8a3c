import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { CellInputError, TransientError } from '@tessera/core';
import { RedisRateGate } from '../../runtime/src/limiter';
import { startOpenAIServer, type OpenAIServer } from '../../../test/support/openai-server';
import { anthropicMessagesUdf, chatUdf, geminiGenerateUdf, MemoryResponseCache } from '../src';
import { runFn, testContext } from './support/context';
import { REDIS_URL } from '../../../test/support/services';

let server: OpenAIServer;
const KEY = 'sk-ant-test-0123456789';

beforeAll(async () => {
  process.env.TESSERA_TEST_PROVIDER_KEY = KEY;
  server = await startOpenAIServer({ apiKey: KEY });
});
afterAll(() => server.close());
beforeEach(() => server.reset());

describe('anthropic messages', () => {
  test('answers through the official SDK, with usage and cache', async () => {
    const { ctx, usage } = testContext({ cache: new MemoryResponseCache() });
    const udf = anthropicMessagesUdf({
      baseURL: server.origin,
      apiKeyEnv: 'TESSERA_TEST_PROVIDER_KEY',
      model: 'claude-test',
      maxTokens: 64,
      system: 'Be brief.',
    });
    expect(udf.spec.queue).toBe('model:anthropic:claude-test');
    expect(await runFn(udf, ['hello claude'], ctx)).toBe('Echo: hello claude');
    expect(await runFn(udf, ['hello claude'], ctx)).toBe('Echo: hello claude');
    expect(server.count()).toBe(1);
    expect(usage.calls).toBe(1);
    expect(usage.tokens).toBe(server.arrivals[0]!.tokens);
  });

  test('errors are classified; the SDK does not retry', async () => {
    const { ctx } = testContext();
    const udf = anthropicMessagesUdf({ baseURL: server.origin, apiKeyEnv: 'TESSERA_TEST_PROVIDER_KEY', model: 'claude-test' });
    server.inject([
      { kind: 'status', status: 529 },
      { kind: 'status', status: 400 },
    ]);
    await expect(runFn(udf, ['a'], ctx)).rejects.toBeInstanceOf(TransientError);
    await expect(runFn(udf, ['b'], ctx)).rejects.toBeInstanceOf(CellInputError);
    expect(server.count()).toBe(2);
  });
});

describe('gemini generateContent', () => {
  test('answers through @google/genai, with usage', async () => {
    const { ctx, usage } = testContext();
    const udf = geminiGenerateUdf({ baseURL: server.origin, apiKeyEnv: 'TESSERA_TEST_PROVIDER_KEY', model: 'gemini-test', maxOutputTokens: 64 });
    expect(await runFn(udf, ['hello gemini'], ctx)).toBe('Echo: hello gemini');
    expect(server.arrivals[0]!.path).toMatch(/models\/gemini-test:generateContent$/);
    expect(usage.tokens).toBe(server.arrivals[0]!.tokens);
  });

  test('errors are classified; the SDK does not retry', async () => {
    const { ctx } = testContext();
    const udf = geminiGenerateUdf({ baseURL: server.origin, apiKeyEnv: 'TESSERA_TEST_PROVIDER_KEY', model: 'gemini-test' });
    server.inject([
      { kind: 'status', status: 503 },
      { kind: 'status', status: 400 },
    ]);
    await expect(runFn(udf, ['a'], ctx)).rejects.toBeInstanceOf(TransientError);
    await expect(runFn(udf, ['b'], ctx)).rejects.toBeInstanceOf(CellInputError);
    expect(server.count()).toBe(2);
  });
});

describe('rate-limit headers', () => {
  test("each provider's headers reach the fleet's gate: OpenAI's x-ratelimit-*, Anthropic's anthropic-ratelimit-*", async () => {
    const limited = await startOpenAIServer({ apiKey: KEY, rpm: 120, tpm: 50_000 });
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
    const prefix = `tessera:test:headers:${randomUUID().slice(0, 8)}:`;
    try {
      const gate = new RedisRateGate({ redis, prefix, env: {} });
      const { ctx } = testContext({ rateGate: gate });
      await runFn(
        anthropicMessagesUdf({ baseURL: limited.origin, apiKeyEnv: 'TESSERA_TEST_PROVIDER_KEY', model: 'claude-limited', maxTokens: 16 }),
        ['hi'],
        ctx,
      );
      await runFn(chatUdf({ baseURL: limited.url, apiKeyEnv: 'TESSERA_TEST_PROVIDER_KEY', model: 'gpt-limited', maxTokens: 16 }), ['hi'], ctx);
      const learned = async (model: string) => {
        const [bucket] = (await redis.keys(`${prefix}*`)).filter((k) => k.includes(`:${model}:`) && !k.endsWith(':inflight'));
        return redis.hmget(bucket!, 'learned_rpm', 'learned_tpm');
      };
      expect(await learned('claude-limited')).toEqual(['120', '50000']);
      expect(await learned('gpt-limited')).toEqual(['120', '50000']);
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
      await limited.close();
    }
  });
});
