import { CellInputError, defineUdf, t, type Expr, type Udf } from '@tessera/core';
import type { ModelUdfContext } from '../model/context';
import { withCache } from '../model/call-model';
import { callKey, memo, modelUdfName, transportKey } from '../model/identity';
import { countChatTokens } from '../model/tokens';
import { applyPrompt, runChat, type ChatMessage } from './chat-call';
import { queueFor, type OpenAIConnection } from './connection';

export interface ChatOptions extends OpenAIConnection {
  model: string;
  /** system message */
  system?: string;
  /** user message template: `{input}` is replaced by the cell's text (else the text follows it) */
  prompt?: string;
  /** output token cap; also what the rate gate reserves for the answer; default 256 */
  maxTokens?: number;
  temperature?: number;
}

type ChatUdf = Udf<readonly [ReturnType<typeof t.string>], ReturnType<typeof t.string>>;
const udfs = new Map<string, ChatUdf>();

/** The chat completion UDF for these options (one per model and prompt). */
export function chatUdf(opts: ChatOptions): ChatUdf {
  const maxTokens = opts.maxTokens ?? 256;
  const name = modelUdfName('openai.chat', opts.model, { system: opts.system, prompt: opts.prompt, maxTokens, temperature: opts.temperature });
  return memo(udfs, transportKey(name, opts), () =>
    defineUdf({
      name,
      version: '1',
      params: [t.string()] as const,
      returns: t.string(),
      queue: queueFor(opts, opts.model),
      fn: async ([text], ctx: ModelUdfContext) => {
        if (typeof text !== 'string' || !text.trim()) throw new CellInputError('openai.chat: empty input text');
        const user = applyPrompt(opts.prompt, text);
        const messages: ChatMessage[] = [...(opts.system ? [{ role: 'system' as const, content: opts.system }] : []), { role: 'user', content: user }];
        const promptTokens = await countChatTokens(opts.model, [opts.system ?? '', user]);
        return withCache(ctx, opts, callKey(name, { user }), () =>
          runChat(ctx, opts, { model: opts.model, messages, maxTokens, temperature: opts.temperature, promptTokens }, `openai.chat ${opts.model}`),
        );
      },
    }),
  );
}

/** `openai.chat(docs.text, { model: 'gpt-4o-mini' })`: a text answer per row. */
export function chat(text: Expr<'string', string | null> | string, opts: ChatOptions) {
  return chatUdf(opts)(text);
}
