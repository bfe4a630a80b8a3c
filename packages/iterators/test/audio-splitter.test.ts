import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CellInputError } from '@tessera/core';
import { audioSplitterDef, extractAudio, type AudioSplitterParams } from '../src/index';
import { audioGrid } from '../src/audio/audio-grid';
import { collect, localContext } from '../../../test/support/local-media';
import { ffprobeJson } from './support/run';
import { makeAudioFixtures, type AudioFixtures } from './support/audio-fixtures';
import { tempDir } from '../../../test/support/temp-dir';

const dir = tempDir('tessera-audio-');
let a: AudioFixtures;
beforeAll(async () => {
  a = await makeAudioFixtures(dir);
});

const split = (file: string, params: AudioSplitterParams) => collect(audioSplitterDef.run(file, params, localContext(join(dir, 'out'))));
const bounds = async (file: string, params: AudioSplitterParams) => (await split(file, params)).map((r) => [r.segmentStart, r.segmentEnd]);
const probe = async (url: string) => {
  const j = await ffprobeJson(fileURLToPath(url), 'stream=codec_name,duration');
  return { codec: j.streams[0].codec_name as string, duration: Number(j.streams[0].duration) };
};

describe('audioSplitter by duration', () => {
  test('3 s on 10 s: the k·3 grid, last segment 1 s', async () => {
    expect(await bounds(a.wav, { duration: 3 })).toEqual([
      [0, 3],
      [3, 6],
      [6, 9],
      [9, 10],
    ]);
  });

  test('minSegmentDuration drops a shorter last segment only', async () => {
    expect(await bounds(a.wav, { duration: 3, minSegmentDuration: 1.5 })).toEqual([
      [0, 3],
      [3, 6],
      [6, 9],
    ]);
    expect(await bounds(a.wav, { duration: 3, minSegmentDuration: 1 })).toHaveLength(4);
  });

  test('overlap extends each segment past the next boundary; starts stay on the grid', async () => {
    expect(await bounds(a.wav, { duration: 3, overlap: 0.5 })).toEqual([
      [0, 3.5],
      [3, 6.5],
      [6, 9.5],
      [9, 10],
    ]);
  });

  test('the grid has no drift: over 2 hours of 0.7 s segments every start is exactly k*0.7', () => {
    const g = audioGrid(7200, 0.7, 0, 0);
    expect(g).toHaveLength(Math.ceil(7200 / 0.7));
    g.forEach((s, k) => expect(s.start).toBe(k * 0.7));
    expect(g.at(-1)!.end).toBe(7200);
  });

  test('PCM segments are cut to the sample and stay PCM WAV', async () => {
    const rows = await split(a.wav, { duration: 3, overlap: 0.5 });
    const got = await Promise.all(rows.map((r) => probe(r.audioSegment)));
    expect(got.map((g) => g.codec)).toEqual(['pcm_s16le', 'pcm_s16le', 'pcm_s16le', 'pcm_s16le']);
    expect(got.map((g) => g.duration)).toEqual([3.5, 3.5, 3.5, 1]);
    expect(rows.every((r) => r.audioSegment.endsWith('.wav'))).toBe(true);
  });

  test.each([
    ['mp3', 'mp3', '.mp3'],
    ['m4a', 'aac', '.m4a'],
    ['flac', 'flac', '.flac'],
  ] as const)('%s segments keep their codec (%s), lossy ones remuxed without re-encoding to within one packet', async (kind, codec, ext) => {
    const rows = await split(a[kind], { duration: 4 });
    // the last end is the file's stated duration (MP3 adds encoder padding: 10.08 s)
    expect(rows.map((r) => [r.segmentStart, r.segmentEnd])).toEqual([
      [0, 4],
      [4, 8],
      [8, expect.closeTo(10, 0)],
    ]);
    for (const r of rows) {
      const p = await probe(r.audioSegment);
      expect(p.codec).toBe(codec);
      expect(r.audioSegment.endsWith(ext)).toBe(true);
      expect(Math.abs(p.duration - (r.segmentEnd - r.segmentStart))).toBeLessThan(0.1);
    }
  });

  test('segments are content-addressed: a second run writes the same objects', async () => {
    const [x, y] = [await split(a.mp3, { duration: 4 }), await split(a.mp3, { duration: 4 })];
    expect(x.map((r) => r.audioSegment)).toEqual(y.map((r) => r.audioSegment));
  });
});

describe('audioSplitter by maxSize', () => {
  test('32,000 B/s PCM with maxSize 100,000: 2.968 s segments, every file within maxSize', async () => {
    const rows = await split(a.wav, { maxSize: 100_000 });
    expect(rows.map((r) => r.segmentStart)).toEqual([0, 2.968, 2 * 2.968, 3 * 2.968]);
    for (const r of rows) expect((await stat(fileURLToPath(r.audioSegment))).size).toBeLessThanOrEqual(100_000);
  });

  test('maxSize with overlap keeps segment plus overlap within maxSize', async () => {
    const rows = await split(a.mp3, { maxSize: 20_000, overlap: 0.5 });
    for (const r of rows) expect((await stat(fileURLToPath(r.audioSegment))).size).toBeLessThanOrEqual(20_000);
    expect(rows.length).toBeGreaterThan(3);
  });

  test('a maxSize too small for the bit rate is a CellInputError', async () => {
    await expect(split(a.wav, { maxSize: 1000, overlap: 1 })).rejects.toThrow(
      /tone\.wav: maxSize 1000 bytes is too small for this 256000 bit\/s stream with 1 s overlap/,
    );
  });
});

describe('audioSplitter short tails (minTailDuration, default 0.5 s)', () => {
  test('by duration, a 16 ms tail is merged into the segment before: no segment for 16 ms of audio', async () => {
    const rows = await split(a.tail, { duration: 5 });
    expect(rows.map((r) => [r.segmentStart, r.segmentEnd])).toEqual([
      [0, 5],
      [5, 10.016],
    ]);
    expect((await probe(rows[1]!.audioSegment)).duration).toBeCloseTo(5.016, 3);
  });

  test('minTailDuration: 0 keeps every tail, as before', async () => {
    expect(await bounds(a.tail, { duration: 5, minTailDuration: 0 })).toEqual([
      [0, 5],
      [5, 10],
      [10, 10.016],
    ]);
  });

  test('by maxSize, a short tail is balanced away: equal segments, each file still within maxSize', async () => {
    // 10.016 s at 32,000 B/s with maxSize 167,000: 4.957 s segments would leave a 0.102 s tail
    const rows = await split(a.tail, { maxSize: 167_000 });
    expect(rows).toHaveLength(3);
    rows.forEach((r) => expect(r.segmentEnd - r.segmentStart).toBeCloseTo(10.016 / 3, 6));
    for (const r of rows) expect((await stat(fileURLToPath(r.audioSegment))).size).toBeLessThanOrEqual(167_000);
  });
});

describe('audioSplitter silence-aware cuts', () => {
  test('minSilenceLen: cuts move back to the middle of the last pause in the second half of each segment', async () => {
    const got = await bounds(a.pauses, { duration: 4, minSilenceLen: 0.5 });
    expect(got).toHaveLength(3);
    const flat = got.flat();
    [0, 3, 3, 7, 7, 10].forEach((want, i) => expect(flat[i]).toBeCloseTo(want, 1));
  });

  test('without minSilenceLen the same file is cut on the grid', async () => {
    expect(await bounds(a.pauses, { duration: 4 })).toEqual([
      [0, 4],
      [4, 8],
      [8, 10],
    ]);
  });

  test('a pause shorter than minSilenceLen is not a cut point', async () => {
    expect(await bounds(a.pauses, { duration: 4, minSilenceLen: 1.5 })).toEqual([
      [0, 4],
      [4, 8],
      [8, 10],
    ]);
  });

  test('trimLeadingSilence starts the first segment where the leading silence ends', async () => {
    const got = await bounds(a.leadingSilence, { duration: 3, trimLeadingSilence: true });
    expect(got).toHaveLength(2);
    expect(got[0]![0]).toBeCloseTo(1.5, 1);
    expect(got[0]![1]).toBeCloseTo(4.5, 1);
    expect(got[1]![1]).toBe(6);
    expect(await bounds(a.leadingSilence, { duration: 3 })).toEqual([
      [0, 3],
      [3, 6],
    ]);
  });

  test('a tone louder than silenceThresh is not silence: with -80 dBFS digital silence still is', async () => {
    expect(await bounds(a.pauses, { duration: 4, minSilenceLen: 0.5, silenceThresh: -80 })).toHaveLength(3);
    expect(await bounds(a.wav, { duration: 4, minSilenceLen: 0.5, silenceThresh: -3 })).toEqual([
      [0, 4],
      [4, 8],
      [8, 10],
    ]);
  });
});

describe('audio from video', () => {
  test('extractAudio: the whole AAC track of a video, remuxed (no re-encoding) into .m4a', async () => {
    const rows = await split(a.videoWithAudio, { whole: true });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.segmentStart).toBe(0);
    expect(rows[0]!.segmentEnd).toBeCloseTo(3, 1);
    expect(rows[0]!.audioSegment.endsWith('.m4a')).toBe(true);
    const j = await ffprobeJson(fileURLToPath(rows[0]!.audioSegment), 'stream=codec_type,codec_name');
    expect(j.streams.map((s: any) => [s.codec_type, s.codec_name])).toEqual([['audio', 'aac']]);
    const p = await probe(rows[0]!.audioSegment);
    expect(p.duration).toBeCloseTo(3, 1);
  });

  test('a video is split by duration like an audio file', async () => {
    expect((await bounds(a.videoWithAudio, { duration: 1 })).map(([s]) => s)).toEqual([0, 1, 2]);
  });

  test('extractAudio makes the whole-track call; the splitter accepts video columns', () => {
    expect(extractAudio({ op: 'column', column: 'video' } as never).params).toEqual({ whole: true });
    expect(audioSplitterDef.accepts).toEqual(['audio', 'video']);
  });

  test('a video without audio is a CellInputError', async () => {
    await expect(split(a.silentVideo, { whole: true })).rejects.toThrow(/silent\.mp4: has no audio stream/);
  });
});

describe('audioSplitter bad input', () => {
  test.each([
    ['no audio stream', () => a.silentVideo, /silent\.mp4: has no audio stream/],
    ['not audio', () => a.notAudio, /notes\.mp3: ffmpeg cannot read it/],
    ['missing', () => a.missing, /missing\.wav: cannot be read \(ENOENT\)/],
  ])('%s is a CellInputError naming the file', async (_n, file, message) => {
    const err = await split(file(), { duration: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(CellInputError);
    expect(err.message).toMatch(message);
  });
});

describe('audioSplitter parameters', () => {
  test.each([
    [{}, 'give exactly one of duration (seconds), maxSize (bytes) or whole (true)'],
    [{ duration: 5, maxSize: 1000 }, 'give exactly one of duration (seconds), maxSize (bytes) or whole (true)'],
    [{ duration: -1 }, 'duration must be a number > 0, got -1'],
    [{ maxSize: 10.5 }, 'maxSize must be a positive integer, got 10.5'],
    [{ duration: 5, overlap: 5 }, 'overlap (5) must be smaller than duration (5)'],
    [{ duration: 5, overlap: -1 }, 'overlap must be a number >= 0, got -1'],
    [{ duration: 5, minSegmentDuration: 6 }, 'minSegmentDuration (6) must not exceed duration (5)'],
    [{ duration: 5, chunk: 1 }, 'unknown parameter "chunk"'],
    [{ duration: 5, whole: true }, 'give exactly one of duration (seconds), maxSize (bytes) or whole (true)'],
    [{ whole: true, overlap: 1 }, 'whole takes the whole track: overlap, minSegmentDuration and minSilenceLen do not apply'],
    [{ duration: 5, minTailDuration: -1 }, 'minTailDuration must be a number >= 0, got -1'],
    [{ duration: 5, minSilenceLen: 0 }, 'minSilenceLen must be a number > 0, got 0'],
    [{ duration: 5, minSilenceLen: 1, silenceThresh: 3 }, 'silenceThresh must be a negative number of dBFS, got 3'],
    [{ duration: 5, silenceThresh: -30 }, 'silenceThresh is only used with minSilenceLen or trimLeadingSilence'],
    [{ duration: 5, trimLeadingSilence: 'yes' }, 'trimLeadingSilence must be true or false, got "yes"'],
  ])('%j is rejected', (params, message) => {
    expect(() => audioSplitterDef.validate(params as AudioSplitterParams)).toThrow(message);
  });
});
