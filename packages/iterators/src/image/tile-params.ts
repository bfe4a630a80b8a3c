import { checkKnownKeys, checkNonNegativeInt, checkObject, checkPositiveInt } from '../common/check';

export interface TileIteratorParams {
  /** tile width and height in pixels, or one number for square tiles */
  tileSize: number | readonly [number, number];
  /** pixels shared by neighbouring tiles, horizontally and vertically (default 0) */
  overlap?: number | readonly [number, number];
}

export interface TileSpec {
  width: number;
  height: number;
  overlapX: number;
  overlapY: number;
}

const pair = (name: string, v: unknown, check: (n: string, x: unknown) => number): [number, number] => {
  if (typeof v === 'number') return [check(name, v), check(name, v)];
  if (Array.isArray(v) && v.length === 2) return [check(`${name}[0]`, v[0]), check(`${name}[1]`, v[1])];
  throw new Error(`${name} must be a number or [width, height], got ${JSON.stringify(v)}`);
};

export function normalizeTileParams(params: TileIteratorParams): TileSpec {
  const p = checkObject(params, 'tileIterator');
  checkKnownKeys(p, ['tileSize', 'overlap']);
  if (p.tileSize === undefined) throw new Error('tileSize is required');
  const [width, height] = pair('tileSize', p.tileSize, checkPositiveInt);
  const [overlapX, overlapY] = p.overlap === undefined ? [0, 0] : pair('overlap', p.overlap, checkNonNegativeInt);
  if (overlapX >= width || overlapY >= height) throw new Error(`overlap (${overlapX}, ${overlapY}) must be smaller than tileSize (${width}, ${height})`);
  return { width, height, overlapX, overlapY };
}

/** Tiles along one axis: enough steps of (size - overlap) to cover `extent`, at least one. */
export function tileCount(extent: number, size: number, overlap: number): number {
  return Math.max(1, Math.ceil((extent - overlap) / (size - overlap)));
}
