import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { CellInputError, ConfigError, TransientError } from '@tessera/core';
import { RedisRateGate } from '../../runtime/src/limiter';
import { startOpenAIServer, deterministicEmbedding, type OpenAIServer } from '../../../test/support/openai-server';
import { solidPng } from '../../../test/support/openai-server/png';
import { MemoryResponseCache, chatUdf, embeddingsUdf, imageGenerationUdf, structuredUdf, transcriptionUdf, visionUdf } from '../src';
import { runBatch, runFn, testContext } from './support/context';
import { REDIS_URL } from '../../../test/support/services';
import { withEnv } from '../../../test/support/with-env';

let server: OpenAIServer;
const KEY = 'sk-test-0123456789abcdef';

beforeAll(async () => {
  process.env.TESSERA_TEST_OPENAI_KEY = KEY;
  server = await startOpenAIServer({ apiKey: KEY });
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const conn = () => ({ baseURL: server.url, apiKeyEnv: 'TESSERA_TEST_OPENAI_KEY' });

describe('openai chat', () => {
  test('answers, reports calls and tokens, and the cache prevents a second call', async () => {
    const cache = new MemoryResponseCache();
    const { ctx, usage } = testContext({ cache });
    const udf = chatUdf({ ...conn(), model: 'test-chat', prompt: 'Summarise: {input}', maxTokens: 50 });
    expect(udf.spec.queue).toBe('model:openai:test-chat');
    const a = await runFn<[string], string>(udf, ['the quick brown fox'], ctx);
    expect(a).toBe('Echo: Summarise: the quick brown fox');
    expect(server.count()).toBe(1);
    expect(usage.calls).toBe(1);
    expect(usage.tokens).toBe(server.arrivals[0]!.tokens);
    expect(usage.tokens).toBeGreaterThan(10);

    const b = await runFn<[string], string>(udf, ['the quick brown fox'], ctx);
    expect(b).toBe(a);
    expect(server.count()).toBe(1); // answered from the cache
    expect(usage.calls).toBe(1);
    expect(usage.cacheHits).toBe(1);

    // a fresh call is made when asked for
    const fresh = testContext({ cache, cacheMode: 'refresh' });
    await runFn(udf, ['the quick brown fox'], fresh.ctx);
    expect(server.count()).toBe(2);
  });

  test('different options are different functions', () => {
    const a = chatUdf({ ...conn(), model: 'm', prompt: 'A: {input}' });
    const b = chatUdf({ ...conn(), model: 'm', prompt: 'B: {input}' });
    const a2 = chatUdf({ ...conn(), model: 'm', prompt: 'A: {input}', baseURL: 'http://elsewhere/v1' });
    expect(a.id).not.toBe(b.id);
    expect(a2.id).toBe(a.id); // transport is not identity
    // but each set of options gets its own closure: request packing must not leak between columns
    const e2 = embeddingsUdf({ ...conn(), model: 'm', maxInputsPerRequest: 2 });
    const e5 = embeddingsUdf({ ...conn(), model: 'm', maxInputsPerRequest: 5 });
    expect(e5.id).toBe(e2.id);
    expect(e5).not.toBe(e2);
    expect(embeddingsUdf({ ...conn(), model: 'm', maxInputsPerRequest: 2 })).toBe(e2);
  });

  test('a 400 is a cell error; 5xx, dropped connections and 429 are transient', async () => {
    const { ctx } = testContext();
    const udf = chatUdf({ ...conn(), model: 'test-chat' });
    server.inject([{ kind: 'status', status: 400, message: "Invalid 'messages[0].content'" }]);
    await expect(runFn(udf, ['x'], ctx)).rejects.toBeInstanceOf(CellInputError);
    server.inject([{ kind: 'status', status: 422 }]);
    await expect(runFn(udf, ['x'], ctx)).rejects.toBeInstanceOf(CellInputError);
    server.inject([{ kind: 'status', status: 503 }]);
    await expect(runFn(udf, ['x'], ctx)).rejects.toBeInstanceOf(TransientError);
    server.inject([{ kind: 'drop' }]);
    await expect(runFn(udf, ['x'], ctx)).rejects.toBeInstanceOf(TransientError);
    server.inject([{ kind: 'status', status: 429, retryAfterS: 3 }]);
    const err = await runFn(udf, ['x'], ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).retryAfterMs).toBe(3000);
    await expect(runFn(udf, ['   '], ctx)).rejects.toBeInstanceOf(CellInputError); // bad input never sent
    expect(server.count()).toBe(5); // one request each: the SDK's own retries are off
  });

  test('a timeout is transient', async () => {
    const { ctx } = testContext();
    const udf = chatUdf({ ...conn(), model: 'test-chat', timeoutMs: 200 });
    server.inject([{ kind: 'delay', ms: 1000 }]);
    await expect(runFn(udf, ['slow'], ctx)).rejects.toBeInstanceOf(TransientError);
  });

  test('transient failures are retried (by the queue) until success', async () => {
    const { ctx, usage } = testContext();
    const udf = chatUdf({ ...conn(), model: 'test-chat' });
    server.inject([{ kind: 'status', status: 500 }, { kind: 'drop' }, { kind: 'status', status: 502 }, { kind: 'status', status: 429, retryAfterS: 0 }]);
    // the queue's loop: retry TransientError with backoff, never a CellInputError
    let attempts = 0;
    let answer: string | undefined;
    while (answer === undefined && attempts < 10) {
      attempts++;
      try {
        answer = await runFn<[string], string>(udf, ['hello'], ctx);
      } catch (err) {
        if (!(err instanceof TransientError)) throw err;
        await new Promise((r) => setTimeout(r, Math.min(err.retryAfterMs ?? 20 * 2 ** attempts, 200)));
      }
    }
    expect(answer).toBe('Echo: hello');
    expect(attempts).toBe(5);
    expect(usage.calls).toBe(5);
    expect(usage['429s']).toBe(1);
  });

  test('API keys never appear in errors', async () => {
    const { ctx } = testContext();
    const good = chatUdf({ ...conn(), model: 'test-chat' });
    server.inject([{ kind: 'status', status: 400, message: `bad request with key ${KEY} echoed` }]);
    const err = (await runFn(good, ['x'], ctx).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(CellInputError);
    expect(err.message).toContain('[redacted]');
    expect(`${err.message} ${JSON.stringify(err)}`).not.toContain(KEY);

    process.env.TESSERA_TEST_BAD_KEY = 'sk-wrong-key-abcdef123456';
    const bad = chatUdf({ baseURL: server.url, apiKeyEnv: 'TESSERA_TEST_BAD_KEY', model: 'test-chat' });
    const unauthorized = (await runFn(bad, ['y'], ctx).catch((e: unknown) => e)) as Error;
    expect(unauthorized).toBeInstanceOf(ConfigError); // 401: configuration, not retried per cell
    expect(`${unauthorized.message} ${JSON.stringify(unauthorized)}`).not.toContain('sk-wrong-key');
  });

  test('a key from a secrets file', async () => {
    const { ctx, dir } = testContext();
    const file = join(dir, 'secrets.json');
    writeFileSync(file, JSON.stringify({ TESSERA_FILE_KEY: KEY }));
    process.env.TESSERA_SECRETS_FILE = file;
    try {
      const udf = chatUdf({ baseURL: server.url, apiKeyEnv: 'TESSERA_FILE_KEY', model: 'test-chat' });
      expect(await runFn(udf, ['from file'], ctx)).toBe('Echo: from file');
    } finally {
      delete process.env.TESSERA_SECRETS_FILE;
    }
  });
});

describe('openai structured output', () => {
  test('JSON checked against a zod schema', async () => {
    const { ctx } = testContext();
    const schema = z.object({ topic: z.string(), score: z.number(), tags: z.array(z.string()) });
    const udf = structuredUdf({ ...conn(), model: 'test-chat', schema });
    const out = await runFn<[string], z.infer<typeof schema>>(udf, ['classify me'], ctx);
    expect(out).toEqual({ topic: 'classify me', score: 5.5, tags: ['classify me'] });
    const sent = server.arrivals[0]!;
    expect(sent.status).toBe(200);
  });

  test('an answer that breaks the schema is a cell error', async () => {
    const bad = await startOpenAIServer({ apiKey: KEY, chatReply: () => '{"topic": 3}' });
    try {
      const { ctx } = testContext();
      const udf = structuredUdf({ baseURL: bad.url, apiKeyEnv: 'TESSERA_TEST_OPENAI_KEY', model: 'test-chat', schema: z.object({ topic: z.string() }) });
      await expect(runFn(udf, ['x'], ctx)).rejects.toBeInstanceOf(CellInputError);
    } finally {
      await bad.close();
    }
  });
});

describe('openai embeddings', () => {
  test('batching packs many inputs per request and keeps row order', async () => {
    const { ctx, usage } = testContext({ cache: new MemoryResponseCache() });
    const udf = embeddingsUdf({ ...conn(), model: 'test-embed', dimensions: 16, maxInputsPerRequest: 40 });
    const texts = Array.from({ length: 100 }, (_, i) => `chunk number ${i} of the document`);
    const out = await runBatch<number[]>(
      udf,
      texts.map((t) => [t]),
      ctx,
    );
    expect(server.count()).toBe(3); // 40 + 40 + 20
    expect(server.arrivals.map((a) => a.inputs).sort()).toEqual([20, 40, 40]);
    out.forEach((v, i) => {
      const want = deterministicEmbedding(texts[i]!, 16, 'test-embed');
      (v as number[]).forEach((x, j) => expect(x).toBeCloseTo(want[j]!, 6));
    });
    expect(usage.calls).toBe(3);
    expect(usage.tokens).toBe(server.arrivals.reduce((s, a) => s + a.tokens, 0));

    // the same rows again: no call at all; a new row alone: one request with one input
    await runBatch(
      udf,
      [...texts.slice(0, 10), 'a new chunk'].map((t) => [t]),
      ctx,
    );
    expect(server.count()).toBe(4);
    expect(server.arrivals[3]!.inputs).toBe(1);
  });

  test('token budget splits requests; bad rows are cell errors without failing the batch', async () => {
    const { ctx } = testContext();
    const udf = embeddingsUdf({ ...conn(), model: 'test-embed', dimensions: 8, maxTokensPerRequest: 8, maxInputTokens: 40 });
    const long = 'word '.repeat(50);
    const out = await runBatch<number[]>(
      udf,
      [['alpha beta gamma'], [''], [long], ['delta epsilon'], ['zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon']],
      ctx,
    );
    expect(out[1]).toBeInstanceOf(CellInputError);
    expect(out[2]).toBeInstanceOf(CellInputError);
    expect(Array.isArray(out[0]) && Array.isArray(out[3]) && Array.isArray(out[4])).toBe(true);
    expect(server.count()).toBe(2);
  });

  test('a request the rate gate refuses leaves its rows as RateLimitedError; the rows of the other requests keep their vectors', async () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
    const prefix = `tessera:test:fn:${randomUUID().slice(0, 8)}:`;
    try {
      // one request a minute, no in-process wait: of two concurrent requests one is refused
      const gate = new RedisRateGate({ redis, prefix, env: {}, limits: { 'openai:test-embed': { rpm: 1 } }, maxWaitMs: 0, utilization: 1 });
      const { ctx, usage } = testContext({ rateGate: gate });
      const udf = embeddingsUdf({ ...conn(), model: 'test-embed', dimensions: 8, maxInputsPerRequest: 2 });
      const out = await runBatch<number[]>(udf, [['a'], ['b'], ['c'], ['d']], ctx);
      expect(server.count()).toBe(1);
      const sent = [out.slice(0, 2), out.slice(2)].find((pair) => pair.every((v) => Array.isArray(v)));
      const refused = [out.slice(0, 2), out.slice(2)].find((pair) => pair.every((v) => (v as Error | undefined)?.name === 'RateLimitedError'));
      expect(sent).toBeDefined();
      expect(refused).toBeDefined();
      expect(usage).toEqual({ calls: 1, tokens: server.arrivals[0]!.tokens }); // the refused request was never made
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  });

  test('a 400 on a batch is narrowed down to the bad row', async () => {
    const picky = await startOpenAIServer({ apiKey: KEY, rejectMarker: 'POISON' });
    try {
      const { ctx } = testContext();
      const udf = embeddingsUdf({ baseURL: picky.url, apiKeyEnv: 'TESSERA_TEST_OPENAI_KEY', model: 'test-embed', dimensions: 8 });
      const out = await runBatch<number[]>(udf, [['a'], ['b'], ['POISON c'], ['d']], ctx);
      // [a b P d] 400 -> [a b] ok, [P d] 400 -> [P] 400, [d] ok
      expect(out[2]).toBeInstanceOf(CellInputError);
      expect([out[0], out[1], out[3]].every((v) => Array.isArray(v))).toBe(true);
      expect(picky.count()).toBe(5);
    } finally {
      await picky.close();
    }
  });
});

describe('openai media', () => {
  test('vision: an image file sent as a data URL', async () => {
    const { ctx, dir } = testContext({ cache: new MemoryResponseCache() });
    const png = solidPng(32, 16, [200, 10, 10]);
    const path = join(dir, 'red.png');
    writeFileSync(path, png);
    const udf = visionUdf({ ...conn(), model: 'test-vision' });
    const out = await runFn<[string, string], string>(udf, ['What colour?', `file://${path}`], ctx);
    const sha = createHash('sha256').update(png).digest('hex').slice(0, 12);
    expect(out).toBe(`Echo: [image image/png ${png.length} bytes sha256:${sha}] What colour?`);
    // the cache keys on the content, not the path
    const copy = join(dir, 'copy.png');
    writeFileSync(copy, png);
    await runFn(udf, ['What colour?', copy], ctx);
    expect(server.count()).toBe(1);
    // not an image: a cell error, nothing sent
    const txt = join(dir, 'note.txt');
    writeFileSync(txt, 'hello');
    await expect(runFn(udf, ['What?', txt], ctx)).rejects.toBeInstanceOf(CellInputError);
    expect(server.count()).toBe(1);
    // larger than TESSERA_MAX_MODEL_MEDIA_BYTES: a cell error naming the size and the setting, before it is read
    await withEnv({ TESSERA_MAX_MODEL_MEDIA_BYTES: String(png.length - 1) }, async () => {
      await expect(runFn(udf, ['What colour?', path], ctx)).rejects.toThrow(
        new CellInputError(`openai.vision: ${path} is ${png.length} bytes, more than ${png.length - 1} (TESSERA_MAX_MODEL_MEDIA_BYTES)`),
      );
    });
    expect(server.count()).toBe(1);
  });

  test('transcription of an audio file', async () => {
    const { ctx, dir } = testContext();
    const wav = join(dir, 'tone.wav');
    execFileSync('/usr/bin/ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1.5', '-ar', '16000', '-ac', '1', wav]);
    const udf = transcriptionUdf({ ...conn(), model: 'whisper-1', language: 'en' });
    const text = await runFn<[string], string>(udf, [wav], ctx);
    const size = (await readFile(wav)).length;
    expect(text).toBe(`transcript of tone.wav: ${size} bytes, 1.50 s`);
  });

  test('image generation writes the image to the column destination', async () => {
    const { ctx, dir } = testContext();
    ctx.column.destination = `file://${dir}/generated`;
    const udf = imageGenerationUdf({ ...conn(), model: 'gpt-image-1' });
    const url = await runFn<[string], string>(udf, ['a red square'], ctx);
    expect(url.startsWith(`file://${dir}/generated/`)).toBe(true);
    expect(url.endsWith('.png')).toBe(true);
    const bytes = await readFile(fileURLToPath(url));
    expect(bytes.readUInt32BE(0)).toBe(0x89504e47);
  });
});
