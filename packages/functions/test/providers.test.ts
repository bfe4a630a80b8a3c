import { CellInputError, TransientError } from '@tessera/core';
import { startOpenAIServer, type OpenAIServer } from '../../../test/support/openai-server';
import { anthropicMessagesUdf, geminiGenerateUdf, MemoryResponseCache } from '../src';
import { runFn, testContext } from './support/context';

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
    const udf = anthropicMessagesUdf({ baseURL: server.origin, apiKeyEnv: 'TESSERA_TEST_PROVIDER_KEY', model: 'claude-test', maxTokens: 64, system: 'Be brief.' });
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
    server.inject([{ kind: 'status', status: 529 }, { kind: 'status', status: 400 }]);
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
    server.inject([{ kind: 'status', status: 503 }, { kind: 'status', status: 400 }]);
    await expect(runFn(udf, ['a'], ctx)).rejects.toBeInstanceOf(TransientError);
    await expect(runFn(udf, ['b'], ctx)).rejects.toBeInstanceOf(CellInputError);
    expect(server.count()).toBe(2);
  });
});
