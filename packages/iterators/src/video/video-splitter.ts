import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { iteratorCall, scratchDir, t, type Expr, type IteratorCall, type IteratorContext, type IteratorDef } from '@tessera/core';
import { extensionOf, inputError, localFile } from '../common/input';
import { Channel } from '../common/channel';
import { damageCause, isDamageLine } from '../ffmpeg/damage';
import { startTool, toolCause } from '../ffmpeg/tool';
import { ffmpegInput } from '../ffmpeg/safe-input';
import { normalizeVideoSplitParams, type VideoSplitSpec, type VideoSplitterParams } from './video-split-params';

const segmentOutputs = { segment: t.video(), segmentStart: t.float(), segmentEnd: t.float() };
export type VideoSegmentOutputs = typeof segmentOutputs;
type SegmentRow = { segment: string; segmentStart: number; segmentEnd: number };

/** Containers a stream copy keeps (the source's own); anything else goes into Matroska, which takes any codec. */
const COPY_CONTAINERS: Record<string, { ext: string; contentType: string }> = {
  mp4: { ext: 'mp4', contentType: 'video/mp4' },
  m4v: { ext: 'mp4', contentType: 'video/mp4' },
  mov: { ext: 'mov', contentType: 'video/quicktime' },
  webm: { ext: 'webm', contentType: 'video/webm' },
  mkv: { ext: 'mkv', contentType: 'video/x-matroska' },
};
const MATROSKA = COPY_CONTAINERS.mkv!;
const ACCURATE = COPY_CONTAINERS.mp4!;

const secs = (s: number) => s.toFixed(6);

function ffmpegArgs(file: string, spec: VideoSplitSpec, pattern: string, ext: string): string[] {
  const cutArgs = spec.cuts.kind === 'every' ? ['-segment_time', secs(spec.cuts.seconds)] : ['-segment_times', spec.cuts.times.map(secs).join(',')];
  const codec =
    spec.mode === 'fast'
      ? ['-c', 'copy']
      : [
          ...['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k'],
          // a key frame exactly at every cut, so the segment muxer can cut there
          '-force_key_frames',
          spec.cuts.kind === 'every' ? `expr:gte(t,n_forced*${spec.cuts.seconds})` : spec.cuts.times.map(secs).join(','),
        ];
  return [
    ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'warning', ...ffmpegInput(file)],
    // the first video and audio stream (subtitles and data streams do not survive every container)
    ...['-map', '0:v:0', '-map', '0:a:0?', '-map_metadata', '-1', '-map_chapters', '-1'],
    ...codec,
    // times in the segment list are then the source's own (a B-frame shift would offset them)
    ...['-avoid_negative_ts', 'disabled', '-fflags', '+bitexact', '-flags', '+bitexact'],
    ...['-f', 'segment', ...cutArgs, '-reset_timestamps', '1', '-segment_format', ext === 'mkv' ? 'matroska' : ext],
    ...['-segment_list', 'pipe:1', '-segment_list_type', 'csv'],
    pattern,
  ];
}

/**
 * Split a video into segments with ffmpeg's segment muxer in one pass. The muxer prints each
 * segment to its list (stdout) when it closes it, so each is written to the media destination
 * (and removed from the scratch directory) while ffmpeg goes on with the next. Start and end times
 * are the ones the muxer reports (key frame times in fast mode).
 */
async function* runVideoSplit(ref: string, params: VideoSplitterParams, ctx: IteratorContext): AsyncGenerator<SegmentRow> {
  const spec = normalizeVideoSplitParams(params);
  const file = await localFile(ctx, ref);
  const container = spec.mode === 'accurate' ? ACCURATE : (COPY_CONTAINERS[extensionOf(file)] ?? COPY_CONTAINERS[extensionOf(ref)] ?? MATROSKA);
  const scratch = await scratchDir('vsplit');
  let damage: string | undefined;
  const ffmpeg = startTool('ffmpeg', ffmpegArgs(file, spec, join(scratch.path, `%06d.${container.ext}`), container.ext), {
    signal: ctx.signal,
    onStderrLine: (line) => {
      if (isDamageLine(line)) damage ??= damageCause(line);
    },
  });
  const listed = new Channel<{ name: string; start: number; end: number }>();
  const reader = (async () => {
    let partial = '';
    for await (const chunk of ffmpeg.stdout) {
      const lines = (partial + (chunk as Buffer).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        const [name, start, end] = l.trim().split(',');
        if (name && start !== undefined && end !== undefined) listed.push({ name, start: Number(start), end: Number(end) });
      }
    }
  })().finally(() => listed.close());
  reader.catch(() => undefined);
  try {
    const rows: SegmentRow[] = [];
    for (;;) {
      const next = await listed.next();
      if (next.done) break;
      const { name, start, end } = next.value;
      const path = join(scratch.path, name);
      // the muxer's end is the next segment's start; the last one ends at the last packet
      if (end - start > 1e-6) {
        const url = await ctx.media.write(ctx.destination, path, { extension: container.ext, contentType: container.contentType });
        rows.push({ segment: url, segmentStart: start, segmentEnd: end });
      }
      await rm(path, { force: true });
    }
    await reader;
    const exit = await ffmpeg.exited;
    if (damage !== undefined) throw inputError(ref, `is truncated or damaged (${damage}); not split, so that no segment is silently missing`);
    if (exit.code !== 0)
      throw inputError(ref, /matches no streams/.test(toolCause(exit, file)) ? 'has no video stream' : `ffmpeg cannot split it: ${toolCause(exit, file)}`);
    const last = rows[rows.length - 1];
    if (last && rows.length > 1 && last.segmentEnd - last.segmentStart < spec.minSegmentDuration - 1e-9) rows.pop();
    // rows are yielded once ffmpeg has finished cleanly: a file that fails midway gives no rows
    yield* rows;
  } finally {
    ffmpeg.kill();
    await ffmpeg.exited.catch(() => undefined);
    await scratch.dispose();
  }
}

export const videoSplitterDef: IteratorDef<VideoSplitterParams, VideoSegmentOutputs> = {
  name: 'videoSplitter',
  version: '1',
  accepts: ['video'],
  queue: 'media',
  validate: (params) => void normalizeVideoSplitParams(params),
  outputs: () => segmentOutputs,
  run: runVideoSplit,
};

/**
 * One view row per video segment: `segment` (video), `segmentStart`, `segmentEnd` (seconds in the
 * source). By `duration` or explicit `segmentTimes`; `mode: 'fast'` (stream copy, cuts on key
 * frames) or `'accurate'` (re-encoded, cuts where asked).
 */
export function videoSplitter(video: Expr<'video', unknown>, params: VideoSplitterParams): IteratorCall<VideoSplitterParams, VideoSegmentOutputs> {
  return iteratorCall(videoSplitterDef, video, params);
}
