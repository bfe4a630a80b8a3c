import { applyPrompt } from '../model/prompt';
import Anthropic from '@anthropic-ai/sdk';
import { t, type Expr, type Udf } from '@tessera/core';
import { rateKeyOf, type ModelUdfContext, type PromptOptions, type ProviderConnection } from '../model/context';
import { callModel, headersToRecord, withCache } from '../model/call-model';
import { callKey, memo } from '../model/identity';
import { defineModelUdf, requireText } from '../model/model-udf';
import { countChatTokens } from '../model/tokens';
import { keyHash, requireSecret } from '../model/secrets';
import type { ProviderFailure } from '../model/errors';

export interface AnthropicOptions extends ProviderConnection, PromptOptions {
  /** required by the API; also what the rate gate reserves; default 1024 */
  maxTokens?: number;
  /** default ANTHROPIC_API_KEY */
  apiKeyEnv?: string;
}

type MessagesUdf = Udf<readonly [ReturnType<typeof t.string>], ReturnType<typeof t.string>>;
const clients = new Map<string, Anthropic>();

function failure(err: unknown): ProviderFailure {
  if (err instanceof Anthropic.APIConnectionError) return { message: err.message, network: true };
  if (err instanceof Anthropic.APIError) return { status: err.status, message: err.message, headers: (n) => err.headers?.get(n) };
  return { message: err instanceof Error ? err.message : String(err), network: true };
}

/** Anthropic messages, thin: one user turn in, the text of the answer out. */
export function anthropicMessagesUdf(opts: AnthropicOptions): MessagesUdf {
  const maxTokens = opts.maxTokens ?? 1024;
  const where = `anthropic.messages ${opts.model}`;
  return defineModelUdf({
    base: 'anthropic.messages',
    model: opts.model,
    identity: { system: opts.system, prompt: opts.prompt, maxTokens, temperature: opts.temperature },
    opts,
    queue: `model:anthropic:${opts.model}`,
    params: [t.string()] as const,
    returns: t.string(),
    build: (name) => ({
      fn: async ([text], ctx: ModelUdfContext) => {
        const user = applyPrompt(opts.prompt, requireText(text, where));
        const secret = requireSecret(opts.apiKeyEnv ?? 'ANTHROPIC_API_KEY');
        const c = memo(
          clients,
          `${opts.baseURL ?? ''}\0${keyHash(secret)}`,
          () => new Anthropic({ apiKey: secret, maxRetries: 0, timeout: opts.timeoutMs ?? 60_000, ...(opts.baseURL ? { baseURL: opts.baseURL } : {}) }),
        );
        const rateKey = rateKeyOf('anthropic', opts.model, secret, opts.limits);
        const promptTokens = await countChatTokens(opts.model, [opts.system ?? '', user]);
        return withCache(ctx, opts, callKey(name, { user }), () =>
          callModel({
            ctx,
            rateKey,
            estimatedTokens: promptTokens + maxTokens,
            where,
            secret,
            toFailure: failure,
            async invoke(signal) {
              const { data, response } = await c.messages
                .create(
                  {
                    model: opts.model,
                    max_tokens: maxTokens,
                    messages: [{ role: 'user', content: user }],
                    ...(opts.system ? { system: opts.system } : {}),
                    ...(opts.temperature === undefined ? {} : { temperature: opts.temperature }),
                  },
                  signal ? { signal } : {},
                )
                .withResponse();
              const textOut = data.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
              return { value: textOut, tokens: data.usage.input_tokens + data.usage.output_tokens, headers: headersToRecord(response.headers) };
            },
          }),
        );
      },
    }),
  });
}

/** `anthropic.messages(docs.text, { model: 'claude-haiku-4-5' })` */
export const anthropic = {
  messages: (text: Expr<'string', string | null> | string, opts: AnthropicOptions) => anthropicMessagesUdf(opts)(text),
};
