import path from 'node:path';
import { createMediaContext, MediaPolicy } from '@tessera/connectors';
import { audioSplitterDef, documentSplitterDef, frameIteratorDef, tileIteratorDef } from '@tessera/iterators';
import { writePdf } from '../../packages/iterators/test/support/doc-fixtures';
import { ffmpeg } from '../../packages/iterators/test/support/run';
import { tempDir } from '../support/temp-dir';

/**
 * Decoded media is bounded: a small file can decode to gigabytes (an image of 16000x16000 pixels),
 * thousands of pages or days of video. Over a limit is a cell error naming the file, the size and
 * the setting, found from the header before the work (here with small limits and small files).
 */
const dir = tempDir('tessera-sec-limits-');
const saved: Record<string, string | undefined> = {};
const limit = (name: string, value: string) => {
  saved[name] ??= process.env[name];
  process.env[name] = value;
};

afterAll(async () => {
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
});

const context = () => {
  const media = createMediaContext({ policy: new MediaPolicy({ roots: [dir] }), defaultDestination: path.join(dir, 'out'), cacheDir: path.join(dir, 'cache') });
  return { media, destination: media.defaultDestination };
};
const drain = async (it: AsyncIterable<unknown>) => {
  for await (const _ of it);
};

test('an image over TESSERA_MAX_IMAGE_PIXELS is refused from its header', async () => {
  const { default: sharp } = await import('sharp');
  const file = path.join(dir, 'big.png');
  await sharp({ create: { width: 300, height: 200, channels: 3, background: '#fff' } })
    .png()
    .toFile(file);
  limit('TESSERA_MAX_IMAGE_PIXELS', '50000');
  await expect(drain(tileIteratorDef.run(file, { tileSize: 64 }, context()))).rejects.toThrow(
    `${file}: is 300x200 pixels, more than 50000 (TESSERA_MAX_IMAGE_PIXELS)`,
  );
  limit('TESSERA_MAX_IMAGE_PIXELS', '60000');
  await drain(tileIteratorDef.run(file, { tileSize: 64 }, context())); // at the limit: tiled
});

test('a PDF over TESSERA_MAX_PDF_PAGES is refused', async () => {
  const file = path.join(dir, 'pages.pdf');
  await writePdf(file, [[['one']], [['two']], [['three']]]);
  limit('TESSERA_MAX_PDF_PAGES', '2');
  await expect(drain(documentSplitterDef.run(file, { separators: ['page'] }, context()))).rejects.toThrow(
    `${file}: has 3 pages, more than 2 (TESSERA_MAX_PDF_PAGES)`,
  );
});

test('audio and video over TESSERA_MAX_MEDIA_SECONDS are refused', async () => {
  const wav = path.join(dir, 'ten.wav');
  const mp4 = path.join(dir, 'six.mp4');
  await ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=440:duration=10', wav);
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=6', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', mp4);
  limit('TESSERA_MAX_MEDIA_SECONDS', '5');
  await expect(drain(audioSplitterDef.run(wav, { duration: 2 }, context()))).rejects.toThrow(`${wav}: lasts 10 s, more than 5 s (TESSERA_MAX_MEDIA_SECONDS)`);
  await expect(drain(frameIteratorDef.run(mp4, { fps: 1 }, context()))).rejects.toThrow(`${mp4}: lasts 6 s, more than 5 s (TESSERA_MAX_MEDIA_SECONDS)`);
  // every frame (no selection) is refused the same way, before any frame is decoded
  await expect(drain(frameIteratorDef.run(mp4, {}, context()))).rejects.toThrow(`${mp4}: lasts 6 s, more than 5 s (TESSERA_MAX_MEDIA_SECONDS)`);
  limit('TESSERA_MAX_MEDIA_SECONDS', '60');
  let frames = 0;
  for await (const _ of frameIteratorDef.run(mp4, {}, context())) frames++;
  expect(frames).toBe(60);
});
