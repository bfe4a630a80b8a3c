import type OpenAI from 'openai';
import { CellInputError } from '@tessera/core';
import { callModel, headersToRecord } from '../model/call-model';
import type { ModelUdfContext } from '../model/context';
import { connect, openaiFailure, type OpenAIConnection } from './connection';

export type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  maxTokens: number;
  temperature?: number;
  responseFormat?: OpenAI.Chat.Completions.ChatCompletionCreateParams['response_format'];
  /** prompt tokens counted offline (the reservation adds maxTokens) */
  promptTokens: number;
}

/** One chat completion through the rate gate; returns the answer text. */
export async function runChat(ctx: ModelUdfContext, conn: OpenAIConnection, req: ChatRequest, where: string): Promise<string> {
  const { client, secret, rateKey } = connect(conn, req.model);
  return callModel({
    ctx,
    rateKey,
    estimatedTokens: req.promptTokens + req.maxTokens,
    where,
    secret,
    toFailure: openaiFailure,
    async invoke(signal) {
      const { data, response } = await client.chat.completions
        .create(
          {
            model: req.model,
            messages: req.messages,
            max_tokens: req.maxTokens,
            ...(req.temperature === undefined ? {} : { temperature: req.temperature }),
            ...(req.responseFormat ? { response_format: req.responseFormat } : {}),
          },
          signal ? { signal } : {},
        )
        .withResponse();
      const choice = data.choices[0];
      if (!choice) throw new CellInputError(`${where}: the response had no choices`);
      if (choice.message.refusal) throw new CellInputError(`${where}: the model refused: ${choice.message.refusal}`);
      return { value: choice.message.content ?? '', tokens: data.usage?.total_tokens ?? 0, headers: headersToRecord(response.headers) };
    },
  });
}

export { applyPrompt } from '../model/prompt';
