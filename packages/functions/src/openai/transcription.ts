import { basename } from 'node:path';
import { toFile } from 'openai';
import { t, type Expr, type Udf } from '@tessera/core';
import type { ModelUdfContext } from '../model/context';
import { callModel, headersToRecord, withCache } from '../model/call-model';
import { callKey } from '../model/identity';
import { defineModelUdf } from '../model/model-udf';
import { loadMedia } from '../model/media';
import { connect, openaiFailure, queueFor, type OpenAIConnection } from './connection';

export interface TranscriptionOptions extends OpenAIConnection {
  /** e.g. `whisper-1`, `gpt-4o-transcribe` */
  model: string;
  /** ISO-639-1 language of the audio, when known */
  language?: string;
  /** text to steer spelling and style */
  prompt?: string;
}

type TranscribeUdf = Udf<readonly [ReturnType<typeof t.audio>], ReturnType<typeof t.string>>;

/** Audio to text (an audio column, or segments from the audio splitter). */
export function transcriptionUdf(opts: TranscriptionOptions): TranscribeUdf {
  const where = `openai.transcribe ${opts.model}`;
  return defineModelUdf({
    base: 'openai.transcribe',
    model: opts.model,
    identity: { language: opts.language, prompt: opts.prompt },
    opts,
    queue: queueFor(opts, opts.model),
    params: [t.audio()] as const,
    returns: t.string(),
    build: (name) => ({
      fn: async ([audio], ctx: ModelUdfContext) => {
        const media = await loadMedia(ctx, audio, where);
        return withCache(ctx, opts, callKey(name, { audio: media.sha256 }), () => {
          const { client, secret, rateKey } = connect(opts, opts.model);
          return callModel({
            ctx,
            rateKey,
            estimatedTokens: 0, // billed by duration; limited by requests
            where,
            secret,
            toFailure: openaiFailure,
            async invoke(signal) {
              const file = await toFile(media.bytes, basename(media.path));
              const { data, response } = await client.audio.transcriptions
                .create(
                  {
                    file,
                    model: opts.model,
                    ...(opts.language ? { language: opts.language } : {}),
                    ...(opts.prompt ? { prompt: opts.prompt } : {}),
                  },
                  signal ? { signal } : {},
                )
                .withResponse();
              const usage = (data as { usage?: { total_tokens?: number } }).usage;
              return { value: data.text, tokens: usage?.total_tokens ?? 0, headers: headersToRecord(response.headers) };
            },
          });
        });
      },
    }),
  });
}

/** `openai.transcribe(segments.audio, { model: 'whisper-1' })` */
export function transcribe(audio: Expr<'audio', string | null>, opts: TranscriptionOptions) {
  return transcriptionUdf(opts)(audio);
}
