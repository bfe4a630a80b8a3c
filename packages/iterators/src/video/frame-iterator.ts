import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { iteratorCall, t, type ColumnType, type Expr, type IteratorCall, type IteratorContext, type IteratorDef } from '@tessera/core';
import { Channel } from '../common/channel';
import { inputError, localFile } from '../common/input';
import { tempDir } from '../common/temp-dir';
import { probeMedia } from '../ffmpeg/probe';
import { startTool, toolCause } from '../ffmpeg/tool';
import { validateFrameParams, type FrameIteratorParams } from './frame-params';
import { readFrameIndex } from './frame-index';
import { selectFrames } from './frame-selection';
import { selectExpression } from './select-expr';
import { parseShowinfo, type ShownFrame } from './showinfo';
import { jpegSplitter, pngSplitter } from './image-stream';

export interface FrameAttrs {
  /** the frame's position among all decoded frames of the video, from 0 */
  index: number;
  /** presentation timestamp in the stream's time base */
  pts: number;
  /** presentation time in seconds */
  time: number;
  key_frame: boolean;
}

const frameOutputs = { frame: t.image(), frameAttrs: t.json() as ColumnType<'json', FrameAttrs> };
export type FrameOutputs = typeof frameOutputs;
type FrameRow = { frame: string; frameAttrs: FrameAttrs };

/** Binary search in the ascending pts list. */
function indexOfPts(pts: Float64Array, value: number): number {
  let lo = 0;
  let hi = pts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = pts[mid]!;
    if (v === value) return mid;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * Decode once with ffmpeg and stream the chosen frames: a `select` filter keeps exactly the frames
 * picked from the packet index, `showinfo` reports each kept frame's pts and key flag on stderr, and
 * the encoded images come through stdout (image2pipe). Reading stdout only as fast as frames are
 * written gives backpressure, so memory holds about one frame whatever the video's length.
 */
async function* runFrames(ref: string, params: FrameIteratorParams, ctx: IteratorContext): AsyncGenerator<FrameRow> {
  const mode = validateFrameParams(params);
  const format = params.imageFormat ?? 'png';
  const file = await localFile(ctx, ref);
  const probed = await probeMedia(file, ref, ctx.signal);
  const stream = probed.streams.find((s) => s.codecType === 'video');
  if (!stream) throw inputError(ref, 'has no video stream');
  const index = await readFrameIndex(file, ref, ctx.signal);
  const tb = stream.timeBase[0] / stream.timeBase[1];
  const times = index.hasPts ? index.pts.map((p) => p * tb) : Float64Array.from({ length: index.count }, (_, i) => i / (stream.frameRate ?? 25));
  const duration = stream.duration ?? probed.duration;
  if (mode.kind === 'numFrames' && duration === undefined) throw inputError(ref, 'numFrames needs the video duration, which the file does not state');
  const selection = selectFrames(mode, { times, key: index.key, frameRate: stream.frameRate, duration });
  if (selection !== 'all' && selection.length === 0) return;

  const scratch = await tempDir('frames');
  const filters: string[] = [];
  if (selection !== 'all') {
    const expr = index.hasPts ? selectExpression('pts', selection.map((i) => index.pts[i]!)) : selectExpression('n', selection);
    filters.push(`select='${expr}'`);
  }
  filters.push('showinfo');
  const script = join(scratch.path, 'filter.txt');
  await writeFile(script, filters.join(','));

  const shown = new Channel<ShownFrame>();
  const ffmpeg = startTool(
    'ffmpeg',
    [
      ...['-hide_banner', '-nostats', '-nostdin', '-loglevel', 'info'],
      // keep the container's timestamps so filter pts equal packet pts
      ...(index.hasPts ? ['-copyts'] : []),
      ...['-i', file, '-map', '0:v:0', '-an', '-sn', '-dn', '-filter_script:v', script],
      ...['-fps_mode', 'passthrough', '-f', 'image2pipe', '-c:v', format === 'png' ? 'png' : 'mjpeg'],
      ...(format === 'jpeg' ? ['-q:v', '2', '-pix_fmt', 'yuvj420p'] : []),
      'pipe:1',
    ],
    {
      signal: ctx.signal,
      onStderrLine: (line) => {
        const f = parseShowinfo(line);
        if (f) shown.push(f);
      },
    },
  );
  ffmpeg.exited.then(() => shown.close(), () => shown.close());
  const splitter = format === 'png' ? pngSplitter() : jpegSplitter();
  const ext = format === 'png' ? 'png' : 'jpg';
  const contentType = format === 'png' ? 'image/png' : 'image/jpeg';
  let emitted = 0;
  try {
    for await (const chunk of ffmpeg.stdout) {
      for (const image of splitter.push(chunk as Buffer)) {
        const info = await shown.next();
        if (info.done) throw inputError(ref, 'ffmpeg produced a frame without frame information');
        const f = info.value;
        let frameIndex: number;
        if (index.hasPts) {
          frameIndex = indexOfPts(index.pts, f.pts);
          if (frameIndex < 0) throw inputError(ref, `decoded frame pts ${f.pts} is not in the container's packet index`);
        } else frameIndex = selection === 'all' ? f.n : selection[f.n]!;
        const url = await ctx.media.write(ctx.destination, image, { extension: ext, contentType });
        const pts = Number.isNaN(f.pts) ? index.pts[frameIndex]! : f.pts;
        yield { frame: url, frameAttrs: { index: frameIndex, pts, time: pts * tb, key_frame: f.keyFrame } };
        emitted++;
      }
    }
    const exit = await ffmpeg.exited;
    if (exit.code !== 0) throw inputError(ref, `ffmpeg failed while decoding: ${toolCause(exit, file)}`);
    if (splitter.pending > 0) throw inputError(ref, 'ffmpeg output ended inside a frame');
    const expected = selection === 'all' ? index.count : selection.length;
    if (emitted < expected) throw inputError(ref, `only ${emitted} of ${expected} frames could be decoded (damaged video?)`);
  } finally {
    ffmpeg.kill();
    await ffmpeg.exited.catch(() => undefined);
    await scratch.dispose();
  }
}

export const frameIteratorDef: IteratorDef<FrameIteratorParams, FrameOutputs> = {
  name: 'frameIterator',
  version: '1',
  accepts: ['video'],
  queue: 'media',
  validate: (params) => void validateFrameParams(params),
  outputs: () => frameOutputs,
  run: runFrames as IteratorDef<FrameIteratorParams, FrameOutputs>['run'],
};

/** One view row per selected video frame: `frame` (image) and `frameAttrs` {index, pts, time, key_frame}. */
export function frameIterator(video: Expr<'video', unknown>, params: FrameIteratorParams = {}): IteratorCall<FrameIteratorParams, FrameOutputs> {
  return iteratorCall(frameIteratorDef, video, params);
}
