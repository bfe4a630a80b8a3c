import { CellInputError, t, type Expr, type Udf } from '@tessera/core';
import type { ModelUdfContext } from '../model/context';
import { callModel, headersToRecord, withCache } from '../model/call-model';
import { callKey } from '../model/identity';
import { defineModelUdf, requireText } from '../model/model-udf';
import { sniffImage } from '../model/image-info';
import { connect, openaiFailure, queueFor, type OpenAIConnection } from './connection';

export interface ImageGenerationOptions extends OpenAIConnection {
  /** e.g. `gpt-image-1`, `dall-e-3` */
  model: string;
  size?: '256x256' | '512x512' | '1024x1024' | '1536x1024' | '1024x1536' | '1792x1024' | '1024x1792' | 'auto';
  quality?: 'standard' | 'hd' | 'low' | 'medium' | 'high' | 'auto';
}

type ImageUdf = Udf<readonly [ReturnType<typeof t.string>], ReturnType<typeof t.image>>;

/** Text to image: the image is written to the column's destination; the cell holds its URL. */
export function imageGenerationUdf(opts: ImageGenerationOptions): ImageUdf {
  const where = `openai.image ${opts.model}`;
  return defineModelUdf({
    base: 'openai.image',
    model: opts.model,
    identity: { size: opts.size, quality: opts.quality },
    opts,
    queue: queueFor(opts, opts.model),
    params: [t.string()] as const,
    returns: t.image(),
    build: (name) => ({
      fn: async ([promptText], ctx: ModelUdfContext) => {
        const prompt = requireText(promptText, where, 'prompt');
        const bytes = await withCache(ctx, opts, callKey(name, { prompt }), async () => {
          const { client, secret, rateKey } = connect(opts, opts.model);
          const b64 = await callModel({
            ctx,
            rateKey,
            estimatedTokens: 0,
            where,
            secret,
            toFailure: openaiFailure,
            async invoke(signal) {
              const { data, response } = await client.images
                .generate(
                  {
                    model: opts.model,
                    prompt,
                    n: 1,
                    ...(opts.size ? { size: opts.size } : {}),
                    ...(opts.quality ? { quality: opts.quality } : {}),
                    // dall-e answers with a URL unless asked; gpt-image models always send base64
                    ...(opts.model.startsWith('dall-e') ? { response_format: 'b64_json' as const } : {}),
                  },
                  signal ? { signal } : {},
                )
                .withResponse();
              const b64 = data.data?.[0]?.b64_json;
              if (!b64) throw new CellInputError(`${where}: the response holds no image`);
              const usage = (data as { usage?: { total_tokens?: number } }).usage;
              return { value: b64, tokens: usage?.total_tokens ?? 0, headers: headersToRecord(response.headers) };
            },
          });
          return b64;
        });
        const buf = Buffer.from(bytes, 'base64');
        const info = sniffImage(buf);
        const extension = info?.mime === 'image/jpeg' ? 'jpg' : info?.mime === 'image/webp' ? 'webp' : 'png';
        // content-addressed: writing the same image twice is harmless
        return ctx.media.write(ctx.column.destination ?? ctx.media.defaultDestination, buf, { extension, contentType: info?.mime ?? 'image/png' });
      },
    }),
  });
}

/** `openai.image(products.description, { model: 'gpt-image-1' })` */
export function generateImage(prompt: Expr<'string', string | null> | string, opts: ImageGenerationOptions) {
  return imageGenerationUdf(opts)(prompt);
}
