import { checkKnownKeys, checkNonNegativeInt, checkObject, checkOneOf, checkPositiveInt } from '../common/check';

export interface TileIteratorParams {
  /** tile width and height in pixels, or one number for square tiles */
  tileSize: number | readonly [number, number];
  /** pixels shared by neighbouring tiles, horizontally and vertically (default 0) */
  overlap?: number | readonly [number, number];
  /**
   * turn the image upright as its EXIF Orientation tag says (default true: a phone photo is tiled
   * as it is shown, and tileBox is in displayed pixels); false tiles the stored pixels
   */
  applyExifOrientation?: boolean;
  /**
   * animated images (GIF, animated WebP): 'first' (default) tiles the first frame; 'all' tiles
   * every frame and adds a `tileFrame` column (0-based frame index)
   */
  gifFrames?: 'first' | 'all';
}

export interface TileSpec {
  width: number;
  height: number;
  overlapX: number;
  overlapY: number;
  applyExifOrientation: boolean;
  allFrames: boolean;
}

const pair = (name: string, v: unknown, check: (n: string, x: unknown) => number): [number, number] => {
  if (typeof v === 'number') return [check(name, v), check(name, v)];
  if (Array.isArray(v) && v.length === 2) return [check(`${name}[0]`, v[0]), check(`${name}[1]`, v[1])];
  throw new Error(`${name} must be a number or [width, height], got ${JSON.stringify(v)}`);
};

export function normalizeTileParams(params: TileIteratorParams): TileSpec {
  const p = checkObject(params, 'tileIterator');
  checkKnownKeys(p, ['tileSize', 'overlap', 'applyExifOrientation', 'gifFrames']);
  if (p.applyExifOrientation !== undefined && typeof p.applyExifOrientation !== 'boolean')
    throw new Error(`applyExifOrientation must be true or false, got ${JSON.stringify(p.applyExifOrientation)}`);
  const gifFrames = p.gifFrames === undefined ? 'first' : checkOneOf('gifFrames', p.gifFrames, ['first', 'all'] as const);
  if (p.tileSize === undefined) throw new Error('tileSize is required');
  const [width, height] = pair('tileSize', p.tileSize, checkPositiveInt);
  const [overlapX, overlapY] = p.overlap === undefined ? [0, 0] : pair('overlap', p.overlap, checkNonNegativeInt);
  if (overlapX >= width || overlapY >= height) throw new Error(`overlap (${overlapX}, ${overlapY}) must be smaller than tileSize (${width}, ${height})`);
  return { width, height, overlapX, overlapY, applyExifOrientation: p.applyExifOrientation !== false, allFrames: gifFrames === 'all' };
}

/** Tiles along one axis: enough steps of (size - overlap) to cover `extent`, at least one. */
export function tileCount(extent: number, size: number, overlap: number): number {
  return Math.max(1, Math.ceil((extent - overlap) / (size - overlap)));
}
