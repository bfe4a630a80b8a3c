import { applyPrompt } from '../model/prompt';
import Anthropic from '@anthropic-ai/sdk';
import { CellInputError, defineUdf, t, type Expr, type Udf } from '@tessera/core';
import type { CacheOption, ModelLimits, ModelRateKey, ModelUdfContext } from '../model/context';
import { callModel, headersToRecord, withCache } from '../model/call-model';
import { callKey, memo, modelUdfName, transportKey } from '../model/identity';
import { countChatTokens } from '../model/tokens';
import { keyHash, requireSecret } from '../model/secrets';
import type { ProviderFailure } from '../model/errors';

export interface AnthropicOptions extends CacheOption {
  model: string;
  system?: string;
  /** user message template; `{input}` is replaced by the cell's text */
  prompt?: string;
  /** required by the API; also what the rate gate reserves; default 1024 */
  maxTokens?: number;
  temperature?: number;
  baseURL?: string;
  /** default ANTHROPIC_API_KEY */
  apiKeyEnv?: string;
  timeoutMs?: number;
  limits?: ModelLimits;
}

type MessagesUdf = Udf<readonly [ReturnType<typeof t.string>], ReturnType<typeof t.string>>;
const udfs = new Map<string, MessagesUdf>();
const clients = new Map<string, Anthropic>();

function failure(err: unknown): ProviderFailure {
  if (err instanceof Anthropic.APIConnectionError) return { message: err.message, network: true };
  if (err instanceof Anthropic.APIError) return { status: err.status, message: err.message, headers: (n) => err.headers?.get(n) };
  return { message: err instanceof Error ? err.message : String(err), network: true };
}

/** Anthropic messages, thin: one user turn in, the text of the answer out. */
export function anthropicMessagesUdf(opts: AnthropicOptions): MessagesUdf {
  const maxTokens = opts.maxTokens ?? 1024;
  const name = modelUdfName('anthropic.messages', opts.model, { system: opts.system, prompt: opts.prompt, maxTokens, temperature: opts.temperature });
  const where = `anthropic.messages ${opts.model}`;
  return memo(udfs, transportKey(name, opts), () =>
    defineUdf({
      name,
      version: '1',
      params: [t.string()] as const,
      returns: t.string(),
      queue: `model:anthropic:${opts.model}`,
      fn: async ([text], ctx: ModelUdfContext) => {
        if (typeof text !== 'string' || !text.trim()) throw new CellInputError(`${where}: empty input text`);
        const user = applyPrompt(opts.prompt, text);
        const keyName = opts.apiKeyEnv ?? 'ANTHROPIC_API_KEY';
        const secret = requireSecret(keyName);
        const cid = `${opts.baseURL ?? ''}\0${keyHash(secret)}`;
        let client = clients.get(cid);
        if (!client) {
          client = new Anthropic({ apiKey: secret, maxRetries: 0, timeout: opts.timeoutMs ?? 60_000, ...(opts.baseURL ? { baseURL: opts.baseURL } : {}) });
          clients.set(cid, client);
        }
        const c = client;
        const rateKey: ModelRateKey = { provider: 'anthropic', model: opts.model, keyHash: keyHash(secret), ...(opts.limits ? { limits: opts.limits } : {}) };
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
  );
}

/** `anthropic.messages(docs.text, { model: 'claude-haiku-4-5' })` */
export const anthropic = {
  messages: (text: Expr<'string', string | null> | string, opts: AnthropicOptions) => anthropicMessagesUdf(opts)(text),
};
