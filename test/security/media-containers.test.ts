import http from 'node:http';
import type net from 'node:net';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CellInputError } from '@tessera/core';
import { createMediaContext, MediaPolicy } from '@tessera/connectors';
import { audioSplitterDef, frameIteratorDef, tileIteratorDef, videoSplitterDef } from '@tessera/iterators';
import { fileURLToPath } from 'node:url';
import { ffmpeg } from '../../packages/iterators/test/support/run';
import { tempDir } from '../support/temp-dir';

/**
 * A media file can name other media: an HLS playlist or an ffconcat list, saved as "upload.mp4",
 * is read by ffmpeg's hls or concat demuxer, which opens the files and URLs it lists. A producer who
 * can upload one file could so have ffmpeg read a video outside TESSERA_MEDIA_ROOTS, or fetch from an
 * internal address, around the media policy. Every iterator that runs ffmpeg refuses such a file
 * with a cell error naming its format; the private video gives no frame, the internal server sees
 * no request; a real video under the root is still read.
 */
const dir = tempDir('tessera-sec-containers-');
const allowed = path.join(dir, 'data');
const outside = path.join(dir, 'private');
const internalHits: string[] = [];
let internal: http.Server;

beforeAll(async () => {
  await mkdir(allowed, { recursive: true });
  await mkdir(outside, { recursive: true });
  const privateTs = path.join(outside, 'private.ts');
  // the same 3 s of video and audio, outside the roots as MPEG-TS and under them as MP4
  const clip = ['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=3', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=3'];
  const codecs = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac'];
  await ffmpeg(...clip, ...codecs, '-f', 'mpegts', privateTs);
  await ffmpeg(...clip, ...codecs, path.join(allowed, 'real.mp4'));
  const tsBytes = await readFile(privateTs);
  internal = http.createServer((req, res) => {
    internalHits.push(req.url ?? '');
    res.end(tsBytes);
  });
  const port = await new Promise<number>((r) => internal.listen(0, '127.0.0.1', () => r((internal.address() as net.AddressInfo).port)));
  const playlist = (segment: string) => `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3.0,\n${segment}\n#EXT-X-ENDLIST\n`;
  await writeFile(path.join(allowed, 'hls-file.mp4'), playlist(`file://${privateTs}`));
  await writeFile(path.join(allowed, 'hls-http.mp4'), playlist(`http://127.0.0.1:${port}/latest/meta-data.ts`));
  await writeFile(path.join(allowed, 'concat.mp4'), `ffconcat version 1.0\nfile ${privateTs}\n`);
});

afterAll(() => new Promise((r) => internal.close(r)));

const context = () => {
  const media = createMediaContext({
    policy: new MediaPolicy({ roots: [allowed] }),
    defaultDestination: path.join(dir, 'out'),
    cacheDir: path.join(dir, 'cache'),
  });
  return { media, destination: media.defaultDestination };
};
const rows = async (it: AsyncIterable<unknown>) => {
  const out: unknown[] = [];
  for await (const r of it) out.push(r);
  return out;
};
const iterators: Array<[string, (file: string) => AsyncIterable<unknown>]> = [
  ['frameIterator', (f) => frameIteratorDef.run(f, { fps: 1 }, context())],
  ['videoSplitter', (f) => videoSplitterDef.run(f, { duration: 1 }, context())],
  ['audioSplitter', (f) => audioSplitterDef.run(f, { duration: 1 }, context())],
];

describe.each(iterators)('%s', (_name, run) => {
  test.each([
    ['an HLS playlist listing a video outside the roots', 'hls-file.mp4', 'hls'],
    ['an HLS playlist listing an internal URL', 'hls-http.mp4', 'hls'],
    ['an ffconcat list naming a video outside the roots', 'concat.mp4', 'concat'],
  ])('%s, named .mp4, is refused naming its format', async (_what, name, format) => {
    const file = path.join(allowed, name);
    const err = await rows(run(file)).catch((e) => e);
    expect(err).toBeInstanceOf(CellInputError);
    expect(err.message).toContain(`${file}: `);
    expect(err.message).toContain(`a file of format ${format}, which is not read (playlists and formats that name other files or URLs are refused)`);
    expect(internalHits).toEqual([]);
  });

  test('a real video under the root is read', async () => {
    expect((await rows(run(path.join(allowed, 'real.mp4')))).length).toBeGreaterThan(0);
  });
});

test("an SVG is drawn without the images it names beside it (in the media cache those are other rows' downloads); its own shapes are drawn", async () => {
  const { default: sharp } = await import('sharp');
  await sharp({ create: { width: 16, height: 16, channels: 3, background: '#ff0000' } })
    .png()
    .toFile(path.join(allowed, 'neighbour.png'));
  const svg = (body: string) => `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="16" height="16">${body}</svg>`;
  await writeFile(path.join(allowed, 'names-neighbour.svg'), svg('<image xlink:href="neighbour.png" width="16" height="16"/>'));
  await writeFile(path.join(allowed, 'own-shape.svg'), svg('<rect width="16" height="16" fill="#0000ff"/>'));
  const firstPixel = async (name: string) => {
    const [row] = (await rows(tileIteratorDef.run(path.join(allowed, name), { tileSize: 16 }, context()))) as Array<{ tile: string }>;
    const tile = row!.tile.startsWith('file:') ? fileURLToPath(row!.tile) : row!.tile;
    const { data } = await sharp(tile).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return [data[0], data[1], data[2]];
  };
  expect(await firstPixel('names-neighbour.svg')).not.toEqual([255, 0, 0]);
  expect(await firstPixel('own-shape.svg')).toEqual([0, 0, 255]);
});
