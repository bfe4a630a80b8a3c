import { iteratorCall, t, type ColumnType, type Expr, type IteratorCall, type IteratorContext, type IteratorDef } from '@tessera/core';
import { BoundedQueue } from '../common/bounded-queue';
import { Channel } from '../common/channel';
import { inputError, localFile } from '../common/input';
import { damageCause, isDamageLine } from '../ffmpeg/damage';
import { checkMediaSeconds } from '../common/limits';
import { probeMedia } from '../ffmpeg/probe';
import { startTool, toolCause, type ToolExit } from '../ffmpeg/tool';
import { ffmpegInput } from '../ffmpeg/safe-input';
import { validateFrameParams, type FrameIteratorParams } from './frame-params';
import { selectFrames } from './frame-selection';
import { jpegSplitter, pngSplitter } from './image-stream';
import { selectExpression } from './select-expr';
import { isShowinfoLine, parseShowinfo, parseShowinfoTimeBase, type ShownFrame } from './showinfo';
import { probeVideo, type VideoProbe } from './video-probe';

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

/** Frames encoded ahead of the consumer: enough to keep ffmpeg busy during a write, bounded in memory. */
const PREFETCH_FRAMES = 8;
const PREFETCH_BYTES = 64 << 20;

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

function ffmpegCause(exit: ToolExit, file: string): string {
  const cause = toolCause(exit, file);
  return /matches no streams/.test(cause) ? 'has no video stream' : `ffmpeg cannot read it: ${cause}`;
}

/**
 * Decode once with ffmpeg and stream the chosen frames: a `select` filter keeps exactly the frames
 * picked from the packet index, `showinfo` reports each kept frame's pts and key flag on stderr, and
 * the encoded images come through stdout (image2pipe). At most PREFETCH_FRAMES images wait in
 * memory; beyond that stdout is not read and ffmpeg blocks, whatever the video's length.
 * Every frame (no parameters) needs no packet index: showinfo's `n` is the index.
 */
async function* runFrames(ref: string, params: FrameIteratorParams, ctx: IteratorContext): AsyncGenerator<FrameRow> {
  const mode = validateFrameParams(params);
  const format = params.imageFormat ?? 'png';
  const file = await localFile(ctx, ref);

  const shown = new Channel<ShownFrame>();
  let timeBase: [number, number] | undefined;
  let damage: string | undefined;
  // ffmpeg starts at once and reads its filter graph from stdin (pipe:0) once the packet index has
  // decided which frames to keep, so its start-up overlaps ffprobe's instead of following it
  const ffmpeg = startTool(
    'ffmpeg',
    [
      ...['-hide_banner', '-nostats', '-nostdin', '-loglevel', 'info'],
      // keep the container's timestamps so filter pts equal packet pts
      '-copyts',
      ...ffmpegInput(file),
      ...['-map', '0:v:0', '-an', '-sn', '-dn', '-filter_script:v', 'pipe:0'],
      ...['-fps_mode', 'passthrough', '-f', 'image2pipe', '-c:v', format === 'png' ? 'png' : 'mjpeg'],
      ...(format === 'jpeg' ? ['-q:v', '2', '-pix_fmt', 'yuvj420p'] : []),
      'pipe:1',
    ],
    {
      signal: ctx.signal,
      keepStdin: true,
      isNoise: isShowinfoLine,
      onStderrLine: (line) => {
        const f = parseShowinfo(line);
        if (f) shown.push(f);
        else if (isDamageLine(line)) damage ??= damageCause(line);
        else timeBase ??= parseShowinfoTimeBase(line);
      },
    },
  );
  ffmpeg.exited.then(
    () => shown.close(),
    () => shown.close(),
  );

  let probe: VideoProbe | undefined;
  let selection: 'all' | number[] = 'all';
  try {
    // every frame of a video claiming days would be hours of work: its stated length is checked first, cheaply
    if (mode.kind === 'all') checkMediaSeconds(ref, (await probeMedia(file, ref, ctx.signal)).duration);
    else {
      probe = await probeVideo(file, ref, ctx.signal);
      checkMediaSeconds(ref, probe.duration);
      const { index, timeBase: tbProbe } = probe;
      const tb = tbProbe[0] / tbProbe[1];
      const times = index.hasPts ? index.pts.map((p) => p * tb) : Float64Array.from({ length: index.count }, (_, i) => i / (probe!.frameRate ?? 25));
      if (mode.kind === 'numFrames' && probe.duration === undefined && probe.containerDuration === undefined)
        throw inputError(ref, 'numFrames needs the video duration, which the file does not state');
      selection = selectFrames(mode, { times, key: index.key, frameRate: probe.frameRate, duration: probe.duration, timeUnit: tb });
    }
  } catch (e) {
    ffmpeg.kill();
    throw e;
  }
  if (selection !== 'all' && selection.length === 0) {
    ffmpeg.kill();
    return;
  }
  const byPts = probe?.index.hasPts === true;
  const filters: string[] = [];
  if (selection !== 'all') {
    const expr = byPts
      ? selectExpression(
          'pts',
          selection.map((i) => probe!.index.pts[i]!),
        )
      : selectExpression('n', selection);
    filters.push(`select='${expr}'`);
  }
  // checksum=0: pts and key flag are all we read; the per-plane checksums and statistics cost CPU
  filters.push('showinfo=checksum=0');
  ffmpeg.stdin.end(filters.join(','));

  const images = new BoundedQueue<Buffer>(PREFETCH_FRAMES, PREFETCH_BYTES);
  const splitter = format === 'png' ? pngSplitter() : jpegSplitter();
  const reader = (async () => {
    for await (const chunk of ffmpeg.stdout) for (const image of splitter.push(chunk as Buffer)) await images.push(image, image.length);
    images.close();
  })().catch((e) => images.fail(e));

  const ext = format === 'png' ? 'png' : 'jpg';
  const contentType = format === 'png' ? 'image/png' : 'image/jpeg';
  let emitted = 0;
  // a damaged file fails the cell in every mode, whichever frames were asked for (README)
  const damaged = () => inputError(ref, `is truncated or damaged (${damage}); not iterated, so that no mode yields part of it silently`);
  try {
    for (;;) {
      const next = await images.next();
      if (next.done) break;
      if (damage !== undefined) throw damaged();
      const info = await shown.next();
      if (info.done) throw inputError(ref, 'ffmpeg produced a frame without frame information');
      const f = info.value;
      let frameIndex: number;
      if (byPts) {
        frameIndex = indexOfPts(probe!.index.pts, f.pts);
        if (frameIndex < 0) throw inputError(ref, `decoded frame pts ${f.pts} is not in the container's packet index`);
      } else frameIndex = selection === 'all' ? f.n : selection[f.n]!;
      if (!timeBase) throw inputError(ref, 'ffmpeg did not report the stream time base');
      const url = await ctx.media.write(ctx.destination, next.value, { extension: ext, contentType });
      yield { frame: url, frameAttrs: { index: frameIndex, pts: f.pts, time: (f.pts * timeBase[0]) / timeBase[1], key_frame: f.keyFrame } };
      emitted++;
    }
    const exit = await ffmpeg.exited;
    if (damage !== undefined) throw damaged();
    if (exit.code !== 0) throw inputError(ref, ffmpegCause(exit, file));
    if (splitter.pending > 0) throw inputError(ref, 'ffmpeg output ended inside a frame');
    const expected = selection !== 'all' ? selection.length : probe ? probe.index.count : emitted;
    if (emitted < expected) throw inputError(ref, `only ${emitted} of ${expected} frames could be decoded (damaged video?)`);
  } finally {
    ffmpeg.kill();
    images.close();
    await reader;
    await ffmpeg.exited.catch(() => undefined);
  }
}

export const frameIteratorDef: IteratorDef<FrameIteratorParams, FrameOutputs> = {
  name: 'frameIterator',
  // 2: fps/numFrames end at the video's last frame (not a longer audio track); damaged files fail in every mode
  version: '2',
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
