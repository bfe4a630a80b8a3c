import { CellInputError, defineUdf, imageSource, t, TesseraError, type UdfContext } from '@tessera/core';

/** sharp (libvips) is imported on first use: a worker that never reads an image does not load it. */
let sharpModule: Promise<typeof import('sharp')> | undefined;
const loadSharp = () => (sharpModule ??= import('sharp'));

/** Bins per channel of the colour histogram: 16 x 3 channels = 48 dimensions. */
export const COLOR_HISTOGRAM_BINS = 16;
export const COLOR_HISTOGRAM_DIM = COLOR_HISTOGRAM_BINS * 3;

/** The image as 8-bit RGB pixels, scaled to fit 64 x 64 (enough for colour statistics), plus its size. */
async function rgbPixels(ref: string, ctx: UdfContext): Promise<{ pixels: Buffer; width: number; height: number }> {
  const file = await ctx.media.localPath(ref);
  const { default: sharp } = await loadSharp();
  try {
    const img = sharp(await imageSource(file), { failOn: 'error' });
    const meta = await img.metadata();
    const { data } = await img.removeAlpha().toColourspace('srgb').resize(64, 64, { fit: 'inside' }).raw().toBuffer({ resolveWithObject: true });
    return { pixels: data, width: meta.width ?? 0, height: meta.height ?? 0 };
  } catch (err) {
    if (err instanceof TesseraError) throw err;
    throw new CellInputError(`${ref}: not a readable image (${(err as Error).message})`, { file: ref });
  }
}

export interface ColorStats {
  width: number;
  height: number;
  /** mean red, green and blue, 0..255 */
  mean: { r: number; g: number; b: number };
  /** mean luma (Rec. 601), 0..1 */
  brightness: number;
  /** standard deviation of luma, 0..1: near 0 for a flat frame (a fade to black, a title card) */
  contrast: number;
}

/**
 * `imageColorStats(frames.frame)`: size, mean colour, brightness and contrast of an image, computed
 * locally (sharp), e.g. to find dark or blank video frames without a model.
 */
export const imageColorStats = defineUdf({
  name: 'image_color_stats',
  version: '1',
  params: [t.image()],
  returns: t.json(),
  async fn([ref], ctx): Promise<ColorStats> {
    const { pixels, width, height } = await rgbPixels(ref, ctx);
    const n = pixels.length / 3;
    let r = 0,
      g = 0,
      b = 0,
      y = 0,
      y2 = 0;
    for (let i = 0; i < pixels.length; i += 3) {
      const luma = (0.299 * pixels[i]! + 0.587 * pixels[i + 1]! + 0.114 * pixels[i + 2]!) / 255;
      r += pixels[i]!;
      g += pixels[i + 1]!;
      b += pixels[i + 2]!;
      y += luma;
      y2 += luma * luma;
    }
    const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
    const meanY = y / n;
    return {
      width,
      height,
      mean: { r: round(r / n, 1), g: round(g / n, 1), b: round(b / n, 1) },
      brightness: round(meanY),
      contrast: round(Math.sqrt(Math.max(0, y2 / n - meanY * meanY))),
    };
  },
});

/**
 * `colorHistogram(frames.frame)`: a 48-dimension embedding of an image's colours (16 bins for each of
 * red, green and blue, scaled to unit length), computed locally. Near-duplicate frames and frames of
 * the same scene are close by cosine similarity; it knows colours, not objects (use a CLIP model for that).
 */
export const colorHistogram = defineUdf({
  name: 'color_histogram',
  version: '1',
  params: [t.image()],
  returns: t.embedding(COLOR_HISTOGRAM_DIM),
  async fn([ref], ctx) {
    const { pixels } = await rgbPixels(ref, ctx);
    const hist = new Array<number>(COLOR_HISTOGRAM_DIM).fill(0);
    const shift = 8 - Math.log2(COLOR_HISTOGRAM_BINS);
    for (let i = 0; i < pixels.length; i += 3) {
      for (let c = 0; c < 3; c++) hist[c * COLOR_HISTOGRAM_BINS + (pixels[i + c]! >> shift)]! += 1;
    }
    const norm = Math.sqrt(hist.reduce((a, v) => a + v * v, 0)) || 1;
    return hist.map((v) => v / norm);
  },
});
