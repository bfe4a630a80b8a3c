import { t, type Expr, type Udf } from '@tessera/core';
import type { ModelUdfContext } from '../model/context';
import { withCache } from '../model/call-model';
import { callKey } from '../model/identity';
import { defineModelUdf, requireText } from '../model/model-udf';
import { countChatTokens } from '../model/tokens';
import { visionTokens } from '../model/image-info';
import { imageDataUrl, loadMedia } from '../model/media';
import { runChat } from './chat-call';
import { queueFor } from './connection';
import type { ChatOptions } from './chat';

export interface VisionOptions extends ChatOptions {
  /** image detail the model sees; default auto */
  detail?: 'low' | 'high' | 'auto';
}

type VisionUdf = Udf<readonly [ReturnType<typeof t.string>, ReturnType<typeof t.image>], ReturnType<typeof t.string>>;

/** Chat about an image (an image column, or video frames from the frame iterator). */
export function visionUdf(opts: VisionOptions): VisionUdf {
  const maxTokens = opts.maxTokens ?? 256;
  const detail = opts.detail ?? 'auto';
  return defineModelUdf({
    base: 'openai.vision',
    model: opts.model,
    identity: { system: opts.system, maxTokens, temperature: opts.temperature, detail },
    opts,
    queue: queueFor(opts, opts.model),
    params: [t.string(), t.image()] as const,
    returns: t.string(),
    build: (name) => ({
      fn: async ([promptText, image], ctx: ModelUdfContext) => {
        const prompt = requireText(promptText, 'openai.vision', 'prompt');
        const media = await loadMedia(ctx, image, 'openai.vision');
        const { url, info } = imageDataUrl(media, 'openai.vision');
        const promptTokens = (await countChatTokens(opts.model, [opts.system ?? '', prompt])) + visionTokens(info, detail);
        return withCache(ctx, opts, callKey(name, { prompt, image: media.sha256 }), () =>
          runChat(
            ctx,
            opts,
            {
              model: opts.model,
              messages: [
                ...(opts.system ? [{ role: 'system' as const, content: opts.system }] : []),
                {
                  role: 'user',
                  content: [
                    { type: 'text', text: prompt },
                    { type: 'image_url', image_url: { url, detail } },
                  ],
                },
              ],
              maxTokens,
              temperature: opts.temperature,
              promptTokens,
            },
            `openai.vision ${opts.model}`,
          ),
        );
      },
    }),
  });
}

/** `openai.vision('What is in this picture?', photos.image, { model: 'gpt-4o-mini' })` */
export function vision(prompt: Expr<'string', string | null> | string, image: Expr<'image', string | null>, opts: VisionOptions) {
  return visionUdf(opts)(prompt, image);
}
