import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { CellInputError } from '@tessera/core';
import { tileIteratorDef, type TileIteratorParams } from '../src/index';
import { collect, localContext } from './support/local-media';

let dir: string;
let rgb: string;
let rgba: string;
/** 100x70 image whose pixel (x, y) is R=x, G=y, B=200, so every tile pixel tells where it came from */
const W = 100;
const H = 70;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-tiles-'));
  const px = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px.set([x, y, 200], (y * W + x) * 3);
  rgb = join(dir, 'grid.png');
  await sharp(px, { raw: { width: W, height: H, channels: 3 } }).png().toFile(rgb);
  rgba = join(dir, 'grid-alpha.png');
  await sharp(px, { raw: { width: W, height: H, channels: 3 } }).ensureAlpha(1).png().toFile(rgba);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const tiles = (file: string, params: TileIteratorParams) => collect(tileIteratorDef.run(file, params, localContext(join(dir, 'out'))));
const pixel = async (url: string, x: number, y: number) => {
  const { data, info } = await sharp(fileURLToPath(url)).raw().toBuffer({ resolveWithObject: true });
  return [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x + 1) * info.channels)];
};

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
    expect(rows.map((r) => [r.tileCoord, r.tileBox])).toEqual([[[0, 0], [0, 0, 128, 128]]]);
  });

  test('identical tiles share one content-addressed object', async () => {
    const flat = join(dir, 'flat.png');
    await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toFile(flat);
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
    [{}, 'tileSize is required'],
    [{ tileSize: 0 }, 'tileSize must be a positive integer, got 0'],
    [{ tileSize: [10] }, 'tileSize must be a number or [width, height], got [10]'],
    [{ tileSize: 10, overlap: 10 }, 'overlap (10, 10) must be smaller than tileSize (10, 10)'],
    [{ tileSize: [10, 20], overlap: [2, -1] }, 'overlap[1] must be an integer >= 0, got -1'],
  ])('%j is rejected', (params, message) => {
    expect(() => tileIteratorDef.validate(params as TileIteratorParams)).toThrow(message);
  });
});
