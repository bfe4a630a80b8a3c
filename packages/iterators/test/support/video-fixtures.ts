import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exec, ffmpeg } from './run';

export interface VideoFixtures {
  /** 64x48, 30 fps, 2.000 s, 60 frames, key frame every 10 frames, B-frames (pts order != decode order) */
  cfr: string;
  /** 40 frames: 10 at 10 fps (0.0..0.9 s) then 30 at 30 fps (1.0..1.9667 s); 2.000 s */
  vfr: string;
  /** raw H.264 elementary stream, 30 frames at 30 fps: no timestamps, no stated duration */
  raw: string;
  /** the first half of cfr.mp4 (moov atom missing) */
  truncated: string;
  /** WebM: 50 fps video of 14.98 s (749 frames), no stream duration (only a DURATION tag), 16.5 s Opus audio */
  longAudioWebm: string;
  /** an MP4 with its moov atom first (faststart), cut in half with `head -c`: 186 frames announced */
  truncatedFaststart: string;
  /** a WebM cut in half */
  truncatedWebm: string;
  /** a text file named .mp4 */
  notVideo: string;
  missing: string;
}

export async function makeVideoFixtures(dir: string): Promise<VideoFixtures> {
  const cfr = join(dir, 'cfr.mp4');
  const x264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p'];
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=30:duration=2', ...x264, '-x264-params', 'keyint=10:min-keyint=10:scenecut=0:bframes=2', cfr);
  const vfr = join(dir, 'vfr.mp4');
  await ffmpeg(
    ...['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=30', '-frames:v', '40'],
    ...['-vf', "setpts='if(lt(N,10),N*3,30+(N-10))/(30*TB)'", '-fps_mode', 'vfr'],
    ...x264,
    '-x264-params',
    'keyint=10:min-keyint=10:scenecut=0:bframes=0',
    vfr,
  );
  const raw = join(dir, 'raw.h264');
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=30:duration=1', ...x264, '-f', 'h264', raw);
  const truncated = join(dir, 'truncated.mp4');
  const whole = await readFile(cfr);
  await writeFile(truncated, whole.subarray(0, whole.length >> 1));
  const longAudioWebm = join(dir, 'long-audio.webm');
  await ffmpeg(
    ...['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=50:duration=14.98', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=16.5'],
    ...['-c:v', 'libvpx', '-b:v', '100k', '-deadline', 'realtime', '-cpu-used', '8', '-c:a', 'libopus', longAudioWebm],
  );
  const faststart = join(dir, 'faststart.mp4');
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=30:duration=6.2', ...x264, '-movflags', '+faststart', faststart);
  const truncatedFaststart = join(dir, 'truncated-faststart.mp4');
  await headHalf(faststart, truncatedFaststart);
  const truncatedWebm = join(dir, 'truncated.webm');
  await headHalf(longAudioWebm, truncatedWebm);
  const notVideo = join(dir, 'not-a-video.mp4');
  await writeFile(notVideo, 'this is plain text, not a video\n'.repeat(20));
  return { cfr, vfr, raw, truncated, longAudioWebm, truncatedFaststart, truncatedWebm, notVideo, missing: join(dir, 'missing.mp4') };
}

/** The first half of a file, as `head -c` makes it (an interrupted upload or copy). */
async function headHalf(from: string, to: string): Promise<void> {
  await exec('sh', ['-c', 'head -c $(( $(stat -c%s "$1") / 2 )) "$1" > "$2"', 'sh', from, to]);
}
