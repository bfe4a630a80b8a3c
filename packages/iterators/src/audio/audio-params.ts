import { checkKnownKeys, checkNonNegativeNumber, checkObject, checkPositiveInt, checkPositiveNumber } from '../common/check';

export interface AudioSplitterParams {
  /** segment length in seconds */
  duration?: number;
  /** largest segment file in bytes: the segment length is derived from the stream's bit rate */
  maxSize?: number;
  /** seconds each segment extends past the next boundary (default 0) */
  overlap?: number;
  /** a last segment shorter than this many seconds is dropped (default 0) */
  minSegmentDuration?: number;
}

export interface AudioSpec {
  size: { kind: 'duration'; seconds: number } | { kind: 'maxSize'; bytes: number };
  overlap: number;
  minSegmentDuration: number;
}

export function normalizeAudioParams(params: AudioSplitterParams): AudioSpec {
  const p = checkObject(params, 'audioSplitter');
  checkKnownKeys(p, ['duration', 'maxSize', 'overlap', 'minSegmentDuration']);
  if ((p.duration === undefined) === (p.maxSize === undefined)) throw new Error('give exactly one of duration (seconds) or maxSize (bytes)');
  const overlap = p.overlap === undefined ? 0 : checkNonNegativeNumber('overlap', p.overlap);
  const minSegmentDuration = p.minSegmentDuration === undefined ? 0 : checkNonNegativeNumber('minSegmentDuration', p.minSegmentDuration);
  if (p.duration !== undefined) {
    const seconds = checkPositiveNumber('duration', p.duration);
    if (overlap >= seconds) throw new Error(`overlap (${overlap}) must be smaller than duration (${seconds})`);
    if (minSegmentDuration > seconds) throw new Error(`minSegmentDuration (${minSegmentDuration}) must not exceed duration (${seconds})`);
    return { size: { kind: 'duration', seconds }, overlap, minSegmentDuration };
  }
  return { size: { kind: 'maxSize', bytes: checkPositiveInt('maxSize', p.maxSize) }, overlap, minSegmentDuration };
}
