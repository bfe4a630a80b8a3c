import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CellInputError } from '@tessera/core';
import { frameIteratorDef, type FrameIteratorParams } from '../src/index';
import { collect, localContext } from '../../../test/support/local-media';
import { ffmpeg, ffprobeJson } from './support/run';
import { makeVideoFixtures, type VideoFixtures } from './support/video-fixtures';
import { tempDir } from '../../../test/support/temp-dir';

const dir = tempDir('tessera-frames-');
let v: VideoFixtures;
beforeAll(async () => {
  v = await makeVideoFixtures(dir);
});

const run = (file: string, params: FrameIteratorParams = {}) => collect(frameIteratorDef.run(file, params, localContext(join(dir, 'out'))));
const indexes = async (file: string, params: FrameIteratorParams = {}) => (await run(file, params)).map((r) => r.frameAttrs.index);
const range = (n: number, f: (i: number) => number = (i) => i) => Array.from({ length: n }, (_, i) => f(i));

describe('frameIterator on a 30 fps, 2 s video (60 frames, key frame every 10, B-frames)', () => {
  test('no parameters: every frame, with index, pts, time and key_frame', async () => {
    const rows = await run(v.cfr);
    expect(rows).toHaveLength(60);
    expect(rows.map((r) => r.frameAttrs.index)).toEqual(range(60));
    expect(rows.map((r) => r.frameAttrs.pts)).toEqual(range(60, (i) => i * 512)); // time base 1/15360
    rows.forEach((r, i) => expect(r.frameAttrs.time).toBeCloseTo(i / 30, 9));
    expect(rows.filter((r) => r.frameAttrs.key_frame).map((r) => r.frameAttrs.index)).toEqual([0, 10, 20, 30, 40, 50]);
  });

  test('frames are PNG images at content-addressed URLs; identical frames share one object', async () => {
    const [a, b] = [await run(v.cfr, { fps: 1 }), await run(v.cfr, { fps: 1 })];
    expect(a.map((r) => r.frame)).toEqual(b.map((r) => r.frame));
    const png = await readFile(fileURLToPath(a[0]!.frame));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([64, 48]);
    expect(a[0]!.frame).toMatch(/\/[0-9a-f]{64}\.png$/);
  });

  test('a frame is byte-identical to what the ffmpeg CLI extracts for the same frame', async () => {
    const rows = await run(v.cfr, { fps: 1 });
    const cli = join(dir, 'cli-30.png');
    await ffmpeg('-i', v.cfr, '-vf', 'select=eq(n\\,30)', '-fps_mode', 'passthrough', '-frames:v', '1', cli);
    expect(rows[1]!.frameAttrs.index).toBe(30);
    expect(Buffer.compare(await readFile(fileURLToPath(rows[1]!.frame)), await readFile(cli))).toBe(0);
  });

  test('fps=1 takes the frames nearest to 0 s and 1 s', async () => {
    expect(await indexes(v.cfr, { fps: 1 })).toEqual([0, 30]);
  });

  test('fps=2 takes frames at 0, 0.5, 1, 1.5 s', async () => {
    expect(await indexes(v.cfr, { fps: 2 })).toEqual([0, 15, 30, 45]);
  });

  test('fps=7 takes the nearest frame to each k/7 s below 2 s (14 targets)', async () => {
    expect(await indexes(v.cfr, { fps: 7 })).toEqual(range(14, (k) => Math.round((30 * k) / 7)));
  });

  test('fps at or above the native rate gives every frame once', async () => {
    expect(await indexes(v.cfr, { fps: 30 })).toEqual(range(60));
    expect(await indexes(v.cfr, { fps: 120 })).toEqual(range(60));
  });

  test('numFrames=3 takes the frames at the midpoints 1/3, 1, 5/3 s', async () => {
    expect(await indexes(v.cfr, { numFrames: 3 })).toEqual([10, 30, 50]);
  });

  test('numFrames=4: midpoints 0.25, 0.75, 1.25, 1.75 s fall between two frames; ties go to the earlier frame', async () => {
    expect(await indexes(v.cfr, { numFrames: 4 })).toEqual([7, 22, 37, 52]);
  });

  test('numFrames above the frame count gives each frame once', async () => {
    expect(await indexes(v.cfr, { numFrames: 100 })).toEqual(range(60));
  });

  test('keyframesOnly gives the 6 key frames', async () => {
    const rows = await run(v.cfr, { keyframesOnly: true });
    expect(rows.map((r) => r.frameAttrs.index)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(rows.every((r) => r.frameAttrs.key_frame)).toBe(true);
  });

  test('imageFormat jpeg writes JPEG frames', async () => {
    const rows = await run(v.cfr, { fps: 1, imageFormat: 'jpeg' });
    expect(rows).toHaveLength(2);
    const jpg = await readFile(fileURLToPath(rows[0]!.frame));
    expect([jpg[0], jpg[1], jpg.at(-2), jpg.at(-1)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
    expect(rows[0]!.frame).toMatch(/\.jpg$/);
  });

  test('stopping early ends ffmpeg and yields only what was taken', async () => {
    const ctx = localContext(join(dir, 'out'));
    const rows = [];
    for await (const r of frameIteratorDef.run(v.cfr, {}, ctx)) {
      rows.push(r);
      if (rows.length === 3) break;
    }
    expect(rows.map((r) => r.frameAttrs.index)).toEqual([0, 1, 2]);
  });
});

describe('frameIterator on a variable-frame-rate video', () => {
  test('every frame with its own timestamp', async () => {
    const rows = await run(v.vfr);
    expect(rows).toHaveLength(40);
    const times = rows.map((r) => r.frameAttrs.time);
    range(10).forEach((i) => expect(times[i]).toBeCloseTo(i / 10, 6));
    range(30).forEach((j) => expect(times[10 + j]).toBeCloseTo(1 + j / 30, 6));
  });

  test('fps=2 picks the nearest frame to 0, 0.5, 1, 1.5 s', async () => {
    expect(await indexes(v.vfr, { fps: 2 })).toEqual([0, 5, 10, 25]);
  });

  test('fps=4 at 0.25 s picks the frame at 0.2 or 0.3 s: a tie, so 0.2 s', async () => {
    expect(await indexes(v.vfr, { fps: 4 })).toEqual([0, 2, 5, 7, 10, 17, 25, 32]);
  });

  test('numFrames=2 picks the frames at 0.5 s and 1.5 s', async () => {
    expect(await indexes(v.vfr, { numFrames: 2 })).toEqual([5, 25]);
  });
});

describe('frameIterator on a raw H.264 stream (no timestamps, no duration)', () => {
  test('every frame, pts assigned by ffmpeg at the nominal rate', async () => {
    const rows = await run(v.raw);
    expect(rows).toHaveLength(30);
    // ffmpeg generates these pts itself (1/1200000 time base, drifting by a few units per frame)
    rows.forEach((r, i) => expect(r.frameAttrs.time).toBeCloseTo(i / 30, 3));
  });

  test('fps=10 works from the frame count and rate', async () => {
    expect(await indexes(v.raw, { fps: 10 })).toEqual(range(10, (i) => i * 3));
  });

  test('numFrames is an error naming the file: the duration cannot be known', async () => {
    await expect(run(v.raw, { numFrames: 3 })).rejects.toThrow(CellInputError);
    await expect(run(v.raw, { numFrames: 3 })).rejects.toThrow(/raw\.h264: numFrames needs the video duration/);
  });
});

describe('frameIterator on a WebM whose audio outlasts the video (no stream duration)', () => {
  test('the container says 16.5 s, the video stream states none', async () => {
    const probe = await ffprobeJson(v.longAudioWebm, 'format=duration:stream=codec_type,duration:stream_tags=DURATION');
    expect(Number(probe.format.duration)).toBeGreaterThan(16.4);
    expect(probe.streams[0].duration).toBeUndefined();
  });

  test('fps=1 gives 15 frames (targets 0..14 s), none past the video end at 14.98 s', async () => {
    const rows = await run(v.longAudioWebm, { fps: 1 });
    expect(rows.map((r) => r.frameAttrs.index)).toEqual(range(15, (k) => k * 50));
    expect(rows.at(-1)!.frameAttrs.time).toBeCloseTo(14, 1); // libvpx starts its pts at 7 ms
  });

  test('fps=1/3 gives 5 frames (0, 3, 6, 9, 12 s)', async () => {
    expect(await indexes(v.longAudioWebm, { fps: 1 / 3 })).toEqual(range(5, (k) => k * 150));
  });

  test('numFrames spreads over the video, not the audio: midpoints of 14.98 / 2', async () => {
    expect(await indexes(v.longAudioWebm, { numFrames: 2 })).toEqual([187, 562]);
  });
});

describe('frameIterator on truncated files: a cell error in every mode', () => {
  test.each([
    ['all frames', {}],
    ['fps', { fps: 1 }],
    ['numFrames', { numFrames: 3 }],
    ['keyframesOnly', { keyframesOnly: true }],
  ] as const)('MP4 with moov first, cut in half (%s)', async (_mode, params) => {
    const err = await run(v.truncatedFaststart, params).catch((e) => e);
    expect(err).toBeInstanceOf(CellInputError);
    expect(err.message).toMatch(/truncated-faststart\.mp4: is truncated or damaged \(.*(partial file|Error while decoding|Invalid NAL)/);
  });

  test.each([
    ['all frames', {}],
    ['fps', { fps: 1 }],
    ['numFrames', { numFrames: 3 }],
    ['keyframesOnly', { keyframesOnly: true }],
  ] as const)('WebM cut in half (%s)', async (_mode, params) => {
    const err = await run(v.truncatedWebm, params).catch((e) => e);
    expect(err).toBeInstanceOf(CellInputError);
    expect(err.message).toMatch(/truncated\.webm: is truncated or damaged \(File ended prematurely\)/);
  });

  test('the same file whole is fine in every mode', async () => {
    expect(await run(v.longAudioWebm, { keyframesOnly: true })).not.toHaveLength(0);
  });
});

describe('frameIterator bad input', () => {
  test.each([
    ['truncated', () => v.truncated, /truncated\.mp4: ffmpeg cannot read it: .*moov atom not found/],
    ['not a video', () => v.notVideo, /not-a-video\.mp4: ffmpeg cannot read it/],
    ['missing', () => v.missing, /missing\.mp4: cannot be read \(ENOENT\)/],
  ])('%s file is a CellInputError naming the file and cause', async (_name, file, message) => {
    const err = await run(file()).catch((e) => e);
    expect(err).toBeInstanceOf(CellInputError);
    expect(err.message).toMatch(message);
  });

  test('an unreachable URL is a CellInputError', async () => {
    await expect(run('https://unreachable.invalid/x.mp4')).rejects.toThrow(CellInputError);
  });
});

describe('frameIterator parameters', () => {
  test.each([
    [{ fps: 1, numFrames: 2 }, 'give at most one of fps, numFrames, keyframesOnly (got fps and numFrames)'],
    [{ fps: 1, keyframesOnly: true }, 'give at most one of fps, numFrames, keyframesOnly (got fps and keyframesOnly)'],
    [{ fps: 0 }, 'fps must be a number > 0, got 0'],
    [{ numFrames: 2.5 }, 'numFrames must be a positive integer, got 2.5'],
    [{ keyframesOnly: 'yes' }, 'keyframesOnly must be true or false, got "yes"'],
    [{ imageFormat: 'gif' }, `imageFormat must be one of 'png', 'jpeg', got "gif"`],
    [{ fsp: 1 }, 'unknown parameter "fsp" (known: fps, numFrames, keyframesOnly, imageFormat)'],
  ])('%j is rejected', (params, message) => {
    expect(() => frameIteratorDef.validate(params as FrameIteratorParams)).toThrow(message);
  });

  test('fps with keyframesOnly: false is fine', () => {
    expect(() => frameIteratorDef.validate({ fps: 1, keyframesOnly: false })).not.toThrow();
  });
});
