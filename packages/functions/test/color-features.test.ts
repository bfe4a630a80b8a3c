import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CellInputError } from '@tessera/core';
import { colorHistogram, imageColorStats, COLOR_HISTOGRAM_DIM, type ColorStats } from '../src';
import { runFn, testContext } from './support/context';

/** The local image features on real images that ffmpeg draws: solid colours, a split frame, a broken file. */
const { ctx, dir } = testContext();
const draw = (name: string, filter: string) => {
  const file = join(dir, name);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', name.endsWith('.png') ? `${filter},format=rgb24` : filter, '-frames:v', '1', file]);
  return file;
};

test('mean colour, brightness and contrast', async () => {
  const red = await runFn<[string], ColorStats>(imageColorStats, [draw('red.png', 'color=c=0xFF0000:s=80x60')], ctx);
  expect(red).toEqual({ width: 80, height: 60, mean: { r: 255, g: 0, b: 0 }, brightness: 0.299, contrast: 0 });
  const black = await runFn<[string], ColorStats>(imageColorStats, [draw('black.jpg', 'color=c=black:s=32x32')], ctx);
  expect(black.brightness).toBeLessThan(0.02);
  // left half black, right half white: brightness 0.5, contrast (std of luma) 0.5
  const split = await runFn<[string], ColorStats>(imageColorStats, [draw('split.png', 'color=c=white:s=64x64,drawbox=x=0:y=0:w=32:h=64:c=black:t=fill')], ctx);
  expect(split.brightness).toBeCloseTo(0.5, 2);
  expect(split.contrast).toBeCloseTo(0.5, 2);
});

test('colour histogram: unit length, the bins of the colours present, close for similar images', async () => {
  const red = await runFn<[string], number[]>(colorHistogram, [draw('red2.png', 'color=c=0xFF0000:s=40x40')], ctx);
  expect(red).toHaveLength(COLOR_HISTOGRAM_DIM);
  const third = 1 / Math.sqrt(3);
  // red in the top red bin, green and blue in their bottom bins
  expect(red[15]).toBeCloseTo(third, 6);
  expect(red[16]).toBeCloseTo(third, 6);
  expect(red[32]).toBeCloseTo(third, 6);
  expect(red.filter((v) => v > 0)).toHaveLength(3);
  const cos = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
  const darkRed = await runFn<[string], number[]>(colorHistogram, [draw('darkred.png', 'color=c=0xF00000:s=40x40')], ctx);
  const blue = await runFn<[string], number[]>(colorHistogram, [draw('blue.png', 'color=c=0x0000FF:s=40x40')], ctx);
  expect(cos(red, darkRed)).toBeGreaterThan(cos(red, blue));
});

test('a file that is not an image is a cell error naming it', async () => {
  const bad = join(dir, 'broken.png');
  writeFileSync(bad, 'not an image at all');
  await expect(runFn(imageColorStats, [bad], ctx)).rejects.toThrow(CellInputError);
  await expect(runFn(colorHistogram, [bad], ctx)).rejects.toThrow(new RegExp(`${bad}: not a readable image`));
});
