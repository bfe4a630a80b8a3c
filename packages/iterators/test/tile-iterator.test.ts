import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { CellInputError } from '@tessera/core';
import { tileIteratorDef, type TileIteratorParams } from '../src/index';
import { collect, localContext } from '../../../test/support/local-media';
import { ffmpeg } from './support/run';
import { tempDir } from '../../../test/support/temp-dir';

const dir = tempDir('tessera-tiles-');
let rgb: string;
let rgba: string;
/** 100x70 image whose pixel (x, y) is R=x, G=y, B=200, so every tile pixel tells where it came from */
const W = 100;
const H = 70;
beforeAll(async () => {
  const px = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px.set([x, y, 200], (y * W + x) * 3);
  rgb = join(dir, 'grid.png');
  await sharp(px, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toFile(rgb);
  rgba = join(dir, 'grid-alpha.png');
  await sharp(px, { raw: { width: W, height: H, channels: 3 } })
    .ensureAlpha(1)
    .png()
    .toFile(rgba);
});

const tiles = (file: string, params: TileIteratorParams) => collect(tileIteratorDef.run(file, params, localContext(join(dir, 'out'))));
const pixel = async (url: string, x: number, y: number) => {
  const { data, info } = await sharp(fileURLToPath(url)).raw().toBuffer({ resolveWithObject: true });
  return [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x + 1) * info.channels)];
};

describe('tileIterator on a photo with an EXIF Orientation tag', () => {
  let photo: string;
  beforeAll(async () => {
    // stored 40x20: left half red, right half blue; Orientation 6 says "rotate 90° clockwise to show",
    // so it is shown 20x40 with red on top
    const px = Buffer.alloc(40 * 20 * 3);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) px.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
    photo = join(dir, 'phone.jpg');
    await sharp(px, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toFile(photo);
    expect((await sharp(photo).metadata()).orientation).toBe(6);
  });
  const reddish = (p: number[]) => p[0]! > 200 && p[2]! < 60;
  const bluish = (p: number[]) => p[2]! > 200 && p[0]! < 60;

  test('default (applyExifOrientation: true): tiled upright as shown, 20x40 gives one column of two 20x20 tiles, red on top', async () => {
    const rows = await tiles(photo, { tileSize: 20 });
    expect(rows.map((r) => r.tileCoord)).toEqual([
      [0, 0],
      [0, 1],
    ]);
    expect(reddish(await pixel(rows[0]!.tile, 10, 10))).toBe(true);
    expect(bluish(await pixel(rows[1]!.tile, 10, 10))).toBe(true);
  });

  test('applyExifOrientation: false tiles the stored pixels: one row of two tiles, red left', async () => {
    const rows = await tiles(photo, { tileSize: 20, applyExifOrientation: false });
    expect(rows.map((r) => r.tileCoord)).toEqual([
      [0, 0],
      [1, 0],
    ]);
    expect(reddish(await pixel(rows[0]!.tile, 10, 10))).toBe(true);
    expect(bluish(await pixel(rows[1]!.tile, 10, 10))).toBe(true);
  });
});

describe('tileIterator on an animated GIF (3 frames: red, green, blue; made by ffmpeg)', () => {
  let gif: string;
  beforeAll(async () => {
    gif = join(dir, 'anim.gif');
    const src = (c: string) => `color=${c}:s=32x32:r=1:d=1`;
    await ffmpeg(
      '-filter_complex',
      `${src('red')}[a];${src('lime')}[b];${src('blue')}[c];[a][b][c]concat=n=3:v=1:a=0`,
      '-fps_mode',
      'passthrough',
      '-pix_fmt',
      'rgb8',
      gif,
    );
    expect((await sharp(gif).metadata()).pages).toBe(3);
  });
  const colour = (p: number[]) => (p[0]! > 200 ? 'red' : p[1]! > 200 ? 'green' : p[2]! > 200 ? 'blue' : 'other');

  test("default (gifFrames: 'first'): the first frame only, no tileFrame column", async () => {
    const rows = await tiles(gif, { tileSize: 16 });
    expect(rows).toHaveLength(4);
    expect(rows.every((r) => !('tileFrame' in r))).toBe(true);
    expect(colour(await pixel(rows[0]!.tile, 1, 1))).toBe('red');
    expect(Object.keys(tileIteratorDef.outputs({ tileSize: 16 }))).toEqual(['tile', 'tileCoord', 'tileBox']);
  });

  test("gifFrames: 'all' tiles every frame, frame by frame, with tileFrame", async () => {
    const rows = await tiles(gif, { tileSize: 16, gifFrames: 'all' });
    expect(rows.map((r) => [r.tileFrame, ...r.tileCoord])).toEqual(
      [0, 1, 2].flatMap((f) => [
        [f, 0, 0],
        [f, 1, 0],
        [f, 0, 1],
        [f, 1, 1],
      ]),
    );
    expect(rows.map((r) => r.tileBox[3])).toEqual(
      Array(12)
        .fill(0)
        .map((_, i) => (i % 4 < 2 ? 16 : 32)),
    );
    const colours = await Promise.all(rows.map(async (r) => colour(await pixel(r.tile, 15, 15))));
    expect(colours).toEqual([...Array(4).fill('red'), ...Array(4).fill('green'), ...Array(4).fill('blue')]);
    expect(Object.keys(tileIteratorDef.outputs({ tileSize: 16, gifFrames: 'all' }))).toEqual(['tile', 'tileCoord', 'tileBox', 'tileFrame']);
  });

  test("gifFrames: 'all' on a still image is its one frame", async () => {
    const rows = await tiles(rgb, { tileSize: 64, gifFrames: 'all' });
    expect(rows.map((r) => r.tileFrame)).toEqual([0, 0, 0, 0]);
  });
});

describe('tileIterator', () => {
  test('32x32 tiles on 100x70: 4 columns x 3 rows, row-major, edge tiles padded to full size', async () => {
    const rows = await tiles(rgb, { tileSize: 32 });
    expect(rows.map((r) => r.tileCoord)).toEqual([0, 1, 2].flatMap((y) => [0, 1, 2, 3].map((x) => [x, y])));
    expect(rows.map((r) => r.tileBox)).toEqual([0, 1, 2].flatMap((y) => [0, 1, 2, 3].map((x) => [x * 32, y * 32, x * 32 + 32, y * 32 + 32])));
    const corner = rows[11]!;
    expect((await sharp(fileURLToPath(corner.tile)).metadata()).width).toBe(32);
    expect((await sharp(fileURLToPath(corner.tile)).metadata()).height).toBe(32);
    expect(await pixel(corner.tile, 0, 0)).toEqual([96, 64, 200]);
    expect(await pixel(corner.tile, 3, 5)).toEqual([99, 69, 200]);
    expect(await pixel(corner.tile, 4, 0)).toEqual([0, 0, 0]); // padding right of the image
    expect(await pixel(corner.tile, 0, 6)).toEqual([0, 0, 0]); // padding below it
    expect(await pixel(rows[5]!.tile, 7, 9)).toEqual([32 + 7, 32 + 9, 200]);
  });

  test('padding is transparent on images with alpha', async () => {
    const rows = await tiles(rgba, { tileSize: 32 });
    expect(await pixel(rows[11]!.tile, 0, 0)).toEqual([96, 64, 200, 255]);
    expect(await pixel(rows[11]!.tile, 10, 10)).toEqual([0, 0, 0, 0]);
  });

  test('rectangular tiles with overlap: steps of size - overlap', async () => {
    const rows = await tiles(rgb, { tileSize: [50, 35], overlap: [10, 5] });
    // columns at 0, 40, 80 (ceil(90/40) = 3); rows at 0, 30, 60 (ceil(65/30) = 3)
    expect(rows.map((r) => r.tileBox)).toEqual([0, 30, 60].flatMap((top) => [0, 40, 80].map((left) => [left, top, left + 50, top + 35])));
    expect(await pixel(rows[4]!.tile, 0, 0)).toEqual([40, 30, 200]);
  });

  test('a tile larger than the image gives one padded tile', async () => {
    const rows = await tiles(rgb, { tileSize: 128 });
    expect(rows.map((r) => [r.tileCoord, r.tileBox])).toEqual([
      [
        [0, 0],
        [0, 0, 128, 128],
      ],
    ]);
  });

  test('identical tiles share one content-addressed object', async () => {
    const flat = join(dir, 'flat.png');
    await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 9, g: 9, b: 9 } } })
      .png()
      .toFile(flat);
    const rows = await tiles(flat, { tileSize: 32 });
    expect(rows).toHaveLength(4);
    expect(new Set(rows.map((r) => r.tile)).size).toBe(1);
  });

  test('a file that is not an image is a CellInputError naming it', async () => {
    const bad = join(dir, 'bad.png');
    await writeFile(bad, 'not an image');
    const err = await tiles(bad, { tileSize: 8 }).catch((e) => e);
    expect(err).toBeInstanceOf(CellInputError);
    expect(err.message).toMatch(/bad\.png: is not a readable image: /);
    await expect(tiles(join(dir, 'none.png'), { tileSize: 8 })).rejects.toThrow(/none\.png: cannot be read \(ENOENT\)/);
  });

  test.each([
    [{ tileSize: 8, applyExifOrientation: 'yes' }, 'applyExifOrientation must be true or false, got "yes"'],
    [{ tileSize: 8, gifFrames: 'some' }, `gifFrames must be one of 'first', 'all', got "some"`],
    [{}, 'tileSize is required'],
    [{ tileSize: 0 }, 'tileSize must be a positive integer, got 0'],
    [{ tileSize: [10] }, 'tileSize must be a number or [width, height], got [10]'],
    [{ tileSize: 10, overlap: 10 }, 'overlap (10, 10) must be smaller than tileSize (10, 10)'],
    [{ tileSize: [10, 20], overlap: [2, -1] }, 'overlap[1] must be an integer >= 0, got -1'],
  ])('%j is rejected', (params, message) => {
    expect(() => tileIteratorDef.validate(params as TileIteratorParams)).toThrow(message);
  });
});
