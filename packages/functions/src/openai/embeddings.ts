import { CellInputError, t, type Expr } from '@tessera/core';
import type { ModelUdfContext } from '../model/context';
import { callModel, headersToRecord } from '../model/call-model';
import { cacheGetMany, cacheSetMany, getDefaultResponseCache } from '../model/cache';
import { callKey } from '../model/identity';
import { defineModelUdf } from '../model/model-udf';
import { countTokens } from '../model/tokens';
import { cacheModeOf, report } from '../model/context';
import { connect, openaiFailure, queueFor, type OpenAIConnection } from './connection';

export interface EmbeddingOptions extends OpenAIConnection {
  model: string;
  /** output size (text-embedding-3-* can shorten); also fixes the column type */
  dimensions?: number;
  /** most inputs in one request (OpenAI allows 2048); default 256 */
  maxInputsPerRequest?: number;
  /** most tokens in one request (OpenAI allows 300k); default 100 000 */
  maxTokensPerRequest?: number;
  /** an input longer than this is a cell error, not sent; default 8191 */
  maxInputTokens?: number;
  /** rows handed to one batch call by the runtime; default 1024 */
  rowsPerBatch?: number;
}

const KNOWN_DIMS: Record<string, number> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

/** Embeddings, batched: many cells per request, packed up to the input-count and token limits. */
export function embeddingsUdf(opts: EmbeddingOptions) {
  const dim = opts.dimensions ?? KNOWN_DIMS[opts.model];
  const maxInputs = opts.maxInputsPerRequest ?? 256;
  const maxTokens = opts.maxTokensPerRequest ?? 100_000;
  const maxInputTokens = opts.maxInputTokens ?? 8191;
  const where = `openai.embeddings ${opts.model}`;

  /** One request for `texts`; a 400 on several inputs is split to find the bad one. */
  const send = async (ctx: ModelUdfContext, texts: string[], tokens: number[]): Promise<Array<number[] | Error>> => {
    const { client, secret, rateKey } = connect(opts, opts.model);
    try {
      return await callModel({
        ctx,
        rateKey,
        estimatedTokens: tokens.reduce((a, b) => a + b, 0),
        where,
        secret,
        toFailure: openaiFailure,
        async invoke(signal) {
          const { data, response } = await client.embeddings
            .create({ model: opts.model, input: texts, ...(opts.dimensions ? { dimensions: opts.dimensions } : {}) }, signal ? { signal } : {})
            .withResponse();
          const out: number[][] = new Array(texts.length);
          for (const d of data.data) out[d.index] = d.embedding;
          if (out.some((v) => !v)) throw new CellInputError(`${where}: the response is missing embeddings`);
          return { value: out, tokens: data.usage?.total_tokens ?? 0, headers: headersToRecord(response.headers) };
        },
      });
    } catch (err) {
      if (!(err instanceof CellInputError)) throw err;
      if (texts.length === 1) return [err];
      const half = Math.ceil(texts.length / 2);
      const [a, b] = await Promise.all([send(ctx, texts.slice(0, half), tokens.slice(0, half)), send(ctx, texts.slice(half), tokens.slice(half))]);
      return [...a, ...b];
    }
  };

  return defineModelUdf({
    base: 'openai.embeddings',
    model: opts.model,
    identity: { dimensions: opts.dimensions },
    opts,
    queue: queueFor(opts, opts.model),
    params: [t.string()] as const,
    returns: (dim ? t.embedding(dim) : t.array('float')) as ReturnType<typeof t.embedding>,
    build: (name) => ({
      batch: {
        maxSize: opts.rowsPerBatch ?? 1024,
        fn: async (rows, ctx: ModelUdfContext) => {
          const results: Array<number[] | Error | undefined> = new Array(rows.length);
          const texts = rows.map((r) => r[0]);
          const keys = texts.map((text) => callKey(name, { text }));
          const cache = ctx.cache ?? getDefaultResponseCache();
          const mode = cacheModeOf(ctx, opts);
          if (cache && mode === 'use') {
            const hits = await cacheGetMany(cache, keys).catch(() => [] as unknown[]);
            hits.forEach((h, i) => {
              if (Array.isArray(h)) results[i] = h as number[];
            });
            report(ctx, 'cacheHits', hits.filter((h) => h !== undefined).length);
          }

          // pack the rows still to compute into requests
          const todo: Array<{ i: number; tokens: number }> = [];
          for (let i = 0; i < texts.length; i++) {
            if (results[i]) continue;
            const text = texts[i];
            if (typeof text !== 'string' || !text.trim()) {
              results[i] = new CellInputError(`${where}: empty input text`);
              continue;
            }
            const n = await countTokens(opts.model, text);
            if (n > maxInputTokens) results[i] = new CellInputError(`${where}: input has ${n} tokens, more than ${maxInputTokens}`);
            else todo.push({ i, tokens: n });
          }
          const requests: Array<typeof todo> = [];
          let cur: typeof todo = [];
          let curTokens = 0;
          for (const item of todo) {
            if (cur.length && (cur.length >= maxInputs || curTokens + item.tokens > maxTokens)) {
              requests.push(cur);
              cur = [];
              curTokens = 0;
            }
            cur.push(item);
            curTokens += item.tokens;
          }
          if (cur.length) requests.push(cur);

          await Promise.all(
            requests.map(async (req) => {
              let vectors: Array<number[] | Error>;
              try {
                vectors = await send(
                  ctx,
                  req.map((r) => texts[r.i]!),
                  req.map((r) => r.tokens),
                );
              } catch (err) {
                // the rows of a request that was rate limited or failed transiently carry that error:
                // the runtime keeps them pending (and retries the job) while the other rows keep their vectors
                const e = err instanceof Error ? err : new Error(String(err));
                vectors = req.map(() => e);
              }
              const fresh: Array<[string, unknown]> = [];
              req.forEach((r, j) => {
                results[r.i] = vectors[j]!;
                if (!(vectors[j] instanceof Error)) fresh.push([keys[r.i]!, vectors[j]]);
              });
              // kept as each request answers, not once per batch: a job killed mid-batch keeps the
              // vectors it paid for (a failing cache is only a miss next time)
              if (cache && mode !== 'off' && fresh.length) await cacheSetMany(cache, fresh).catch(() => undefined);
            }),
          );
          return results as Array<number[] | Error>;
        },
      },
    }),
  });
}

/** `openai.embeddings(chunks.text, { model: 'text-embedding-3-small' })` */
export function embeddings(text: Expr<'string', string | null> | string, opts: EmbeddingOptions) {
  return embeddingsUdf(opts)(text);
}
