import type { OutputInfo } from 'sharp';
import { imageSource, iteratorCall, t, type Expr, type IteratorCall, type IteratorContext, type IteratorDef } from '@tessera/core';
import { inputError, localFile } from '../common/input';
import { checkImagePixels } from '../common/limits';
import { normalizeTileParams, tileCount, type TileIteratorParams } from './tile-params';

const tileOutputs = { tile: t.image(), tileCoord: t.array('int'), tileBox: t.array('int') };
/** with gifFrames: 'all', the 0-based frame of an animated image each tile comes from */
const frameOutput = { tileFrame: t.int() };
export type TileOutputs = typeof tileOutputs & Partial<typeof frameOutput>;
type TileRow = { tile: string; tileCoord: number[]; tileBox: number[]; tileFrame?: number };

/**
 * Tiles in row-major order. `tileCoord` is [column, row]; `tileBox` is [left, top, right, bottom]
 * of the tile's full extent, which for edge tiles reaches past the image: that part is padded with
 * transparent black (opaque black when the image has no alpha). The image is decoded once.
 */
async function* runTiles(ref: string, params: TileIteratorParams, ctx: IteratorContext): AsyncGenerator<TileRow> {
  const spec = normalizeTileParams(params);
  const file = await localFile(ctx, ref);
  // loaded on first use: libvips is only mapped into processes that tile images
  const { default: sharp } = await import('sharp');
  const source = await imageSource(file);
  let decoded: { data: Buffer; info: OutputInfo };
  // the header first: a small file can decode to gigabytes
  const meta = await sharp(source, { limitInputPixels: false })
    .metadata()
    .catch((e: Error) => {
      throw inputError(ref, `is not a readable image: ${e.message}`);
    });
  // an animated image decodes all its frames (pages) when asked to
  checkImagePixels(ref, meta.width ?? 0, (meta.height ?? 0) * (spec.allFrames ? (meta.pages ?? 1) : 1));
  let frames = 1;
  try {
    // all frames of an animated image decode as one tall image, frame after frame (pageHeight each)
    let img = sharp(source, spec.allFrames ? { animated: true } : {});
    if (spec.applyExifOrientation) img = img.rotate(); // no angle: as the EXIF Orientation tag says
    if (spec.allFrames) frames = meta.pages ?? 1;
    decoded = await img.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw inputError(ref, `is not a readable image: ${(e as Error).message}`);
  }
  const { data, info } = decoded;
  const raw = { width: info.width, height: info.height, channels: info.channels };
  const frameHeight = info.height / frames;
  // an opaque background keeps an RGB tile RGB; a transparent one would add an alpha channel
  const hasAlpha = info.channels === 2 || info.channels === 4;
  const nx = tileCount(info.width, spec.width, spec.overlapX);
  const ny = tileCount(frameHeight, spec.height, spec.overlapY);
  for (let frame = 0; frame < frames; frame++) {
    for (let row = 0; row < ny; row++) {
      for (let col = 0; col < nx; col++) {
        const left = col * (spec.width - spec.overlapX);
        const top = row * (spec.height - spec.overlapY);
        const width = Math.min(spec.width, info.width - left);
        const height = Math.min(spec.height, frameHeight - top);
        let img = sharp(data, { raw }).extract({ left, top: frame * frameHeight + top, width, height });
        if (width < spec.width || height < spec.height) {
          img = img.extend({ right: spec.width - width, bottom: spec.height - height, background: { r: 0, g: 0, b: 0, alpha: hasAlpha ? 0 : 1 } });
        }
        const png = await img.png().toBuffer();
        const url = await ctx.media.write(ctx.destination, png, { extension: 'png', contentType: 'image/png' });
        const box = [left, top, left + spec.width, top + spec.height];
        yield spec.allFrames ? { tile: url, tileCoord: [col, row], tileBox: box, tileFrame: frame } : { tile: url, tileCoord: [col, row], tileBox: box };
      }
    }
  }
}

export const tileIteratorDef: IteratorDef<TileIteratorParams, TileOutputs> = {
  name: 'tileIterator',
  // 2: EXIF orientation applied by default (applyExifOrientation), gifFrames
  version: '2',
  accepts: ['image'],
  queue: 'media',
  // an image decodes in milliseconds: a job per frame of a video would be mostly overhead
  rowsPerJob: 16,
  validate: (params) => void normalizeTileParams(params),
  outputs: (params) => (normalizeTileParams(params).allFrames ? { ...tileOutputs, ...frameOutput } : tileOutputs),
  run: runTiles,
};

/** One view row per image tile: `tile` (image), `tileCoord` [column, row], `tileBox` [left, top, right, bottom]. */
export function tileIterator(image: Expr<'image', unknown>, params: TileIteratorParams): IteratorCall<TileIteratorParams, TileOutputs> {
  return iteratorCall(tileIteratorDef, image, params);
}
