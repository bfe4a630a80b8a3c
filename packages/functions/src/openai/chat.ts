import { t, type Expr, type Udf } from '@tessera/core';
import type { ModelUdfContext, PromptOptions } from '../model/context';
import { withCache } from '../model/call-model';
import { callKey } from '../model/identity';
import { defineModelUdf, requireText } from '../model/model-udf';
import { countChatTokens } from '../model/tokens';
import { applyPrompt, runChat, type ChatMessage } from './chat-call';
import { queueFor, type OpenAIConnection } from './connection';

export interface ChatOptions extends OpenAIConnection, PromptOptions {
  /** output token cap; also what the rate gate reserves for the answer; default 256 */
  maxTokens?: number;
}

type ChatUdf = Udf<readonly [ReturnType<typeof t.string>], ReturnType<typeof t.string>>;

/** The chat completion UDF for these options (one per model and prompt). */
export function chatUdf(opts: ChatOptions): ChatUdf {
  const maxTokens = opts.maxTokens ?? 256;
  return defineModelUdf({
    base: 'openai.chat',
    model: opts.model,
    identity: { system: opts.system, prompt: opts.prompt, maxTokens, temperature: opts.temperature },
    opts,
    queue: queueFor(opts, opts.model),
    params: [t.string()] as const,
    returns: t.string(),
    build: (name) => ({
      fn: async ([text], ctx: ModelUdfContext) => {
        const user = applyPrompt(opts.prompt, requireText(text, 'openai.chat'));
        const messages: ChatMessage[] = [...(opts.system ? [{ role: 'system' as const, content: opts.system }] : []), { role: 'user', content: user }];
        const promptTokens = await countChatTokens(opts.model, [opts.system ?? '', user]);
        return withCache(ctx, opts, callKey(name, { user }), () =>
          runChat(ctx, opts, { model: opts.model, messages, maxTokens, temperature: opts.temperature, promptTokens }, `openai.chat ${opts.model}`),
        );
      },
    }),
  });
}

/** `openai.chat(docs.text, { model: 'gpt-4o-mini' })`: a text answer per row. */
export function chat(text: Expr<'string', string | null> | string, opts: ChatOptions) {
  return chatUdf(opts)(text);
}
