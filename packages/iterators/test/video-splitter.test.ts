import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CellInputError } from '@tessera/core';
import { videoSplitterDef, type VideoSplitterParams } from '../src/index';
import { collect, localContext } from '../../../test/support/local-media';
import { ffmpeg, ffprobeJson } from './support/run';
import { makeVideoFixtures, type VideoFixtures } from './support/video-fixtures';
import { tempDir } from '../../../test/support/temp-dir';

const dir = tempDir('tessera-vsplit-');
let v: VideoFixtures;
/** 10 s, 30 fps H.264 (key frame every second, B-frames) with a 10 s AAC track */
let clip: string;
let webm: string;
beforeAll(async () => {
  v = await makeVideoFixtures(dir);
  clip = join(dir, 'clip.mp4');
  await ffmpeg(
    ...['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=30:duration=10', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=10'],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-x264-params', 'keyint=30:min-keyint=30:scenecut=0:bframes=2', '-c:a', 'aac', clip],
  );
  webm = join(dir, 'clip.webm');
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=25:duration=4', '-c:v', 'libvpx', '-g', '25', '-deadline', 'realtime', '-cpu-used', '8', webm);
});

const split = (file: string, params: VideoSplitterParams) => collect(videoSplitterDef.run(file, params, localContext(join(dir, 'out'))));
const bounds = async (file: string, params: VideoSplitterParams) => (await split(file, params)).map((r) => [r.segmentStart, r.segmentEnd]);
async function frames(url: string): Promise<{ video: number; codecs: string[]; duration: number }> {
  const j = await ffprobeJson(fileURLToPath(url), 'stream=codec_type,codec_name,nb_read_frames:format=duration');
  const { stdout } = await import('./support/run').then((m) =>
    m.exec('ffprobe', [
      '-v',
      'error',
      '-count_frames',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=nb_read_frames',
      '-of',
      'csv=p=0',
      fileURLToPath(url),
    ]),
  );
  return { video: Number(stdout.trim()), codecs: j.streams.map((s: any) => `${s.codec_type}:${s.codec_name}`), duration: Number(j.format.duration) };
}

describe("videoSplitter mode 'fast' (stream copy)", () => {
  test('duration 2.5: cuts on the first key frame at or after each k·2.5 s (3, 5, 8 s); no frame lost or doubled', async () => {
    const rows = await split(clip, { duration: 2.5 });
    expect(rows.map((r) => [r.segmentStart, r.segmentEnd])).toEqual([
      [0, 3],
      [3, 5],
      [5, 8],
      [8, 10],
    ]);
    const got = await Promise.all(rows.map((r) => frames(r.segment)));
    expect(got.map((g) => g.video)).toEqual([90, 60, 90, 60]);
    expect(got.every((g) => g.codecs.join() === 'video:h264,audio:aac')).toBe(true); // copied, not re-encoded
    expect(rows.every((r) => /\/[0-9a-f]{64}\.mp4$/.test(r.segment))).toBe(true);
  });

  test('explicit segmentTimes 2.5 and 7: segments [0, 3), [3, 7), [7, 10)', async () => {
    expect(await bounds(clip, { segmentTimes: [2.5, 7] })).toEqual([
      [0, 3],
      [3, 7],
      [7, 10],
    ]);
  });

  test('a WebM stays WebM (VP8 copied)', async () => {
    const rows = await split(webm, { duration: 2 });
    expect(rows.map((r) => [r.segmentStart, r.segmentEnd])).toEqual([
      [0, 2],
      [2, 4],
    ]);
    expect(rows.every((r) => r.segment.endsWith('.webm'))).toBe(true);
    expect((await frames(rows[0]!.segment)).codecs).toEqual(['video:vp8']);
  });

  test('segments are content-addressed: a second run writes the same objects', async () => {
    expect((await split(clip, { duration: 5 })).map((r) => r.segment)).toEqual((await split(clip, { duration: 5 })).map((r) => r.segment));
  });

  test('minSegmentDuration drops a shorter last segment', async () => {
    expect(await bounds(clip, { duration: 3, minSegmentDuration: 1.5 })).toEqual([
      [0, 3],
      [3, 6],
      [6, 9],
    ]);
  });
});

describe("videoSplitter mode 'accurate' (re-encoded)", () => {
  test('duration 2.5: cuts exactly at 2.5, 5, 7.5 s, 75 frames each, H.264 + AAC in MP4', async () => {
    const rows = await split(clip, { duration: 2.5, mode: 'accurate' });
    expect(rows.map((r) => [r.segmentStart, r.segmentEnd])).toEqual([
      [0, 2.5],
      [2.5, 5],
      [5, 7.5],
      [7.5, 10],
    ]);
    const got = await Promise.all(rows.map((r) => frames(r.segment)));
    expect(got.map((g) => g.video)).toEqual([75, 75, 75, 75]);
    expect(got.every((g) => g.codecs.join() === 'video:h264,audio:aac')).toBe(true);
  });

  test('explicit segmentTimes on a WebM: cut where asked, written as MP4', async () => {
    const rows = await split(webm, { segmentTimes: [1.2], mode: 'accurate' });
    expect(rows.map((r) => [r.segmentStart, r.segmentEnd])).toEqual([
      [0, 1.2],
      [1.2, 4],
    ]);
    expect((await frames(rows[0]!.segment)).video).toBe(30);
    expect(rows.every((r) => r.segment.endsWith('.mp4'))).toBe(true);
  });
});

describe('videoSplitter bad input', () => {
  test.each([
    ['truncated (moov first, cut in half)', () => v.truncatedFaststart, /truncated-faststart\.mp4: is truncated or damaged/],
    ['not a video', () => v.notVideo, /not-a-video\.mp4: ffmpeg cannot split it/],
    ['missing', () => v.missing, /missing\.mp4: cannot be read \(ENOENT\)/],
  ])('%s is a CellInputError naming the file', async (_n, file, message) => {
    const err = await split(file(), { duration: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(CellInputError);
    expect(err.message).toMatch(message);
  });

  test.each([
    [{}, 'give exactly one of duration (seconds) or segmentTimes (a list of cut times in seconds)'],
    [{ duration: 2, segmentTimes: [1] }, 'give exactly one of duration (seconds) or segmentTimes'],
    [{ segmentTimes: [] }, 'segmentTimes must be a non-empty list of seconds, got []'],
    [{ segmentTimes: [3, 2] }, 'segmentTimes must be ascending: 3 then 2'],
    [{ duration: 2, mode: 'exact' }, `mode must be one of 'fast', 'accurate', got "exact"`],
    [{ duration: 0 }, 'duration must be a number > 0, got 0'],
  ])('%j is rejected', (params, message) => {
    expect(() => videoSplitterDef.validate(params as VideoSplitterParams)).toThrow(message);
  });
});
