import { checkKnownKeys, checkObject, checkOneOf, checkPositiveInt, checkPositiveNumber } from '../common/check';

export interface FrameIteratorParams {
  /** frames per second to sample: for each target time start + k/fps, the nearest decoded frame */
  fps?: number;
  /** this many frames, nearest to the midpoints of N equal intervals of the duration */
  numFrames?: number;
  /** only key frames */
  keyframesOnly?: boolean;
  /** encoding of the written frames (default png: lossless, so models see the decoded pixels) */
  imageFormat?: 'png' | 'jpeg';
}

export type FrameMode = { kind: 'all' } | { kind: 'fps'; fps: number } | { kind: 'numFrames'; count: number } | { kind: 'keyframes' };

export function validateFrameParams(params: FrameIteratorParams): FrameMode {
  const p = checkObject(params ?? {}, 'frameIterator');
  checkKnownKeys(p, ['fps', 'numFrames', 'keyframesOnly', 'imageFormat']);
  if (p.keyframesOnly !== undefined && typeof p.keyframesOnly !== 'boolean')
    throw new Error(`keyframesOnly must be true or false, got ${JSON.stringify(p.keyframesOnly)}`);
  if (p.imageFormat !== undefined) checkOneOf('imageFormat', p.imageFormat, ['png', 'jpeg'] as const);
  const given = (['fps', 'numFrames', 'keyframesOnly'] as const).filter((k) => p[k] !== undefined && p[k] !== false);
  if (given.length > 1) throw new Error(`give at most one of fps, numFrames, keyframesOnly (got ${given.join(' and ')})`);
  if (p.fps !== undefined) return { kind: 'fps', fps: checkPositiveNumber('fps', p.fps) };
  if (p.numFrames !== undefined) return { kind: 'numFrames', count: checkPositiveInt('numFrames', p.numFrames) };
  if (p.keyframesOnly === true) return { kind: 'keyframes' };
  return { kind: 'all' };
}
