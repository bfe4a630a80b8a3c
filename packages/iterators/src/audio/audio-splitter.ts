import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { iteratorCall, scratchDir, t, type Expr, type IteratorCall, type IteratorContext, type IteratorDef } from '@tessera/core';
import { inputError, localFile } from '../common/input';
import { checkMediaSeconds } from '../common/limits';
import { probeMedia } from '../ffmpeg/probe';
import { runTool, toolCause } from '../ffmpeg/tool';
import { ffmpegInput } from '../ffmpeg/safe-input';
import { durationForSize } from './audio-grid';
import { planSegments, silenceParser, type Silence } from './audio-plan';
import { normalizeAudioParams, type AudioSplitterParams } from './audio-params';
import { containerFor, FALLBACK } from './containers';

const audioOutputs = { segmentStart: t.float(), segmentEnd: t.float(), audioSegment: t.audio() };
export type AudioOutputs = typeof audioOutputs;
type AudioRow = { segmentStart: number; segmentEnd: number; audioSegment: string };

/** seconds as ffmpeg reads them, exact to the microsecond */
const secs = (s: number) => s.toFixed(6);

/** Cut [start, end) of the first audio stream into `out`; -c copy remuxes the packets untouched. */
async function cut(file: string, out: string, start: number, end: number, codec: string, signal?: AbortSignal) {
  return runTool(
    'ffmpeg',
    [
      ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'],
      ...['-ss', secs(start), '-t', secs(end - start), ...ffmpegInput(file)],
      ...['-map', '0:a:0', '-vn', '-sn', '-dn', '-map_metadata', '-1', '-map_chapters', '-1'],
      // bitexact: no encoder strings or creation times, so a segment's bytes (and its content-addressed key) repeat
      ...['-c:a', codec, '-fflags', '+bitexact', '-flags:a', '+bitexact', out],
    ],
    { signal },
  );
}

/** Silences of the first audio stream (ffmpeg silencedetect: decodes the track once, writes nothing). */
async function detectSilences(file: string, ref: string, total: number, minLen: number, threshDb: number, signal?: AbortSignal): Promise<Silence[]> {
  const parser = silenceParser();
  const { exit } = await runTool(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostdin',
      '-nostats',
      '-loglevel',
      'info',
      ...ffmpegInput(file),
      '-map',
      '0:a:0',
      '-vn',
      '-sn',
      '-dn',
      '-af',
      `silencedetect=noise=${threshDb}dB:d=${minLen}`,
      '-f',
      'null',
      '-',
    ],
    { signal, onStderrLine: parser.line, isNoise: (l) => l.includes('silencedetect') },
  );
  if (exit.code !== 0) throw inputError(ref, `ffmpeg cannot read it: ${toolCause(exit, file)}`);
  return parser.result(total);
}

async function* runAudio(ref: string, params: AudioSplitterParams, ctx: IteratorContext): AsyncGenerator<AudioRow> {
  const spec = normalizeAudioParams(params);
  const file = await localFile(ctx, ref);
  const probed = await probeMedia(file, ref, ctx.signal);
  const stream = probed.streams.find((s) => s.codecType === 'audio');
  if (!stream) throw inputError(ref, 'has no audio stream');
  const total = stream.duration ?? probed.duration;
  if (total === undefined || total <= 0) throw inputError(ref, 'the audio duration cannot be determined');
  checkMediaSeconds(ref, total);

  let duration: number;
  if (spec.size.kind === 'duration') duration = spec.size.seconds;
  else if (spec.size.kind === 'whole') duration = total;
  else {
    const bytesPerSecond = stream.bitRate ? stream.bitRate / 8 : probed.size ? probed.size / total : undefined;
    if (!bytesPerSecond) throw inputError(ref, 'maxSize needs the bit rate, which cannot be determined');
    duration = durationForSize(spec.size.bytes, bytesPerSecond, spec.overlap);
    if (duration <= 0)
      throw inputError(
        ref,
        `maxSize ${spec.size.bytes} bytes is too small for this ${Math.round(bytesPerSecond * 8)} bit/s stream${spec.overlap ? ` with ${spec.overlap} s overlap` : ''}`,
      );
  }

  const copyTarget = containerFor(stream.codecName);
  // lossless codecs are re-encoded to themselves: nothing is lost, the cut is sample-exact instead of
  // packet-aligned, and a copied FLAC would keep the whole file's length in its STREAMINFO header
  const lossless = stream.codecName.startsWith('pcm_') || stream.codecName === 'flac';
  const copyCodec = lossless ? stream.codecName : 'copy';
  const scratch = await scratchDir('audio');
  try {
    const silences = spec.silence ? await detectSilences(file, ref, total, spec.silence.minLen, spec.silence.threshDb, ctx.signal) : undefined;
    // a leading silence is one that starts at the very beginning (silencedetect reports it from 0)
    const leading = spec.silence?.trimLeading ? silences?.find((s) => s.start <= 0.001) : undefined;
    if (leading && leading.end >= total - 1e-6) return; // nothing but silence: no segments
    const plan = planSegments(total, {
      duration,
      overlap: spec.overlap,
      minSegmentDuration: spec.minSegmentDuration,
      minTailDuration: spec.size.kind === 'whole' ? 0 : spec.minTailDuration,
      sizeBound: spec.size.kind === 'maxSize',
      ...(leading ? { from: leading.end } : {}),
      ...(spec.silence?.cut ? { silences } : {}),
    });
    let k = 0;
    for (const seg of plan) {
      let target = { ...copyTarget, codec: copyCodec };
      let out = join(scratch.path, `${k}.${target.ext}`);
      let { exit } = await cut(file, out, seg.start, seg.end, copyCodec, ctx.signal);
      if (exit.code !== 0) {
        // some codec/container pairs cannot be stream-copied: re-encode losslessly instead
        await rm(out, { force: true });
        target = FALLBACK;
        out = join(scratch.path, `${k}.${target.ext}`);
        ({ exit } = await cut(file, out, seg.start, seg.end, target.codec, ctx.signal));
        if (exit.code !== 0) throw inputError(ref, `ffmpeg cannot cut segment ${seg.start}-${seg.end} s: ${toolCause(exit, file)}`);
      }
      const url = await ctx.media.write(ctx.destination, out, { extension: target.ext, contentType: target.contentType });
      await rm(out, { force: true });
      k++;
      yield { segmentStart: seg.start, segmentEnd: seg.end, audioSegment: url };
    }
  } finally {
    await scratch.dispose();
  }
}

export const audioSplitterDef: IteratorDef<AudioSplitterParams, AudioOutputs> = {
  name: 'audioSplitter',
  // 2: short tails merged or balanced away (minTailDuration), silence-aware cuts, video input, whole
  version: '2',
  // a video's first audio track is split (or, with whole, extracted) just the same
  accepts: ['audio', 'video'],
  queue: 'media',
  validate: (params) => void normalizeAudioParams(params),
  outputs: () => audioOutputs,
  run: runAudio,
};

/**
 * One view row per audio segment: `segmentStart`, `segmentEnd` (seconds) and `audioSegment`. The
 * input may be an audio or a video column (its first audio track).
 */
export function audioSplitter(
  audio: Expr<'audio', unknown> | Expr<'video', unknown>,
  params: AudioSplitterParams,
): IteratorCall<AudioSplitterParams, AudioOutputs> {
  return iteratorCall(audioSplitterDef, audio, params);
}

/** Audio extraction: one view row per video (or audio file) holding its whole first audio track, remuxed without re-encoding. */
export function extractAudio(media: Expr<'audio', unknown> | Expr<'video', unknown>): IteratorCall<AudioSplitterParams, AudioOutputs> {
  return iteratorCall(audioSplitterDef, media, { whole: true });
}
