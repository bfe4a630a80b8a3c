import { applyPrompt } from '../model/prompt';
import { ApiError, GoogleGenAI } from '@google/genai';
import { t, type Expr, type Udf } from '@tessera/core';
import { rateKeyOf, type ModelUdfContext, type PromptOptions, type ProviderConnection } from '../model/context';
import { callModel, withCache } from '../model/call-model';
import { callKey, memo } from '../model/identity';
import { defineModelUdf, requireText } from '../model/model-udf';
import { countChatTokens } from '../model/tokens';
import { keyHash, requireSecret, resolveSecret } from '../model/secrets';
import type { ProviderFailure } from '../model/errors';

export interface GeminiOptions extends ProviderConnection, PromptOptions {
  /** output cap; also what the rate gate reserves; default 1024 */
  maxOutputTokens?: number;
  /** default GEMINI_API_KEY (GOOGLE_API_KEY also read) */
  apiKeyEnv?: string;
}

type GenerateUdf = Udf<readonly [ReturnType<typeof t.string>], ReturnType<typeof t.string>>;
const clients = new Map<string, GoogleGenAI>();

function failure(err: unknown): ProviderFailure {
  if (err instanceof ApiError) return { status: err.status, message: err.message };
  return { message: err instanceof Error ? err.message : String(err), network: true };
}

/** Google Gemini generateContent, thin: text in, text out. The SDK's retries stay off (no retryOptions). */
export function geminiGenerateUdf(opts: GeminiOptions): GenerateUdf {
  const maxOut = opts.maxOutputTokens ?? 1024;
  const where = `gemini.generate ${opts.model}`;
  return defineModelUdf({
    base: 'gemini.generate',
    model: opts.model,
    identity: { system: opts.system, prompt: opts.prompt, maxOut, temperature: opts.temperature },
    opts,
    queue: `model:gemini:${opts.model}`,
    params: [t.string()] as const,
    returns: t.string(),
    build: (name) => ({
      fn: async ([text], ctx: ModelUdfContext) => {
        const user = applyPrompt(opts.prompt, requireText(text, where));
        const keyName = opts.apiKeyEnv ?? 'GEMINI_API_KEY';
        const secret = resolveSecret(keyName) ?? (opts.apiKeyEnv ? undefined : resolveSecret('GOOGLE_API_KEY')) ?? requireSecret(keyName);
        const c = memo(
          clients,
          `${opts.baseURL ?? ''}\0${keyHash(secret)}`,
          () =>
            new GoogleGenAI({
              apiKey: secret,
              httpOptions: {
                timeout: opts.timeoutMs ?? 60_000,
                ...(opts.baseURL ? { baseUrl: opts.baseURL } : {}),
                // our own fetch: the SDK then skips its undici dispatcher hook, which needs the real
                // globalThis (absent in sandboxed globals such as jest's); our timeout bounds requests
                fetch: (input, init) => fetch(input, init),
              },
            }),
        );
        const rateKey = rateKeyOf('gemini', opts.model, secret, opts.limits);
        const promptTokens = await countChatTokens(opts.model, [opts.system ?? '', user]);
        return withCache(ctx, opts, callKey(name, { user }), () =>
          callModel({
            ctx,
            rateKey,
            estimatedTokens: promptTokens + maxOut,
            where,
            secret,
            toFailure: failure,
            async invoke(signal) {
              const res = await c.models.generateContent({
                model: opts.model,
                contents: [{ role: 'user', parts: [{ text: user }] }],
                config: {
                  maxOutputTokens: maxOut,
                  ...(opts.system ? { systemInstruction: opts.system } : {}),
                  ...(opts.temperature === undefined ? {} : { temperature: opts.temperature }),
                  ...(signal ? { abortSignal: signal } : {}),
                },
              });
              return { value: res.text ?? '', tokens: res.usageMetadata?.totalTokenCount ?? 0, headers: res.sdkHttpResponse?.headers ?? {} };
            },
          }),
        );
      },
    }),
  });
}

/** `gemini.generate(docs.text, { model: 'gemini-2.5-flash' })` */
export const gemini = {
  generate: (text: Expr<'string', string | null> | string, opts: GeminiOptions) => geminiGenerateUdf(opts)(text),
};
