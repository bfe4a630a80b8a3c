import { checkKnownKeys, checkNonNegativeNumber, checkObject, checkOneOf, checkPositiveNumber } from '../common/check';

export interface VideoSplitterParams {
  /** segment length in seconds (segments start every `duration` seconds) */
  duration?: number;
  /** explicit cut times in seconds, ascending (segments are [0, t1), [t1, t2), ..., [tn, end)) */
  segmentTimes?: readonly number[];
  /**
   * 'fast' (default): stream copy, no re-encoding; a cut falls on the first key frame at or after
   * the requested time, so segments start on key frames and may be longer than asked.
   * 'accurate': re-encoded (H.264 + AAC in MP4) with a key frame forced at every cut, so cuts are
   * where asked (to the frame).
   */
  mode?: 'fast' | 'accurate';
  /** a last segment shorter than this many seconds is dropped (default 0) */
  minSegmentDuration?: number;
}

export interface VideoSplitSpec {
  cuts: { kind: 'every'; seconds: number } | { kind: 'at'; times: number[] };
  mode: 'fast' | 'accurate';
  minSegmentDuration: number;
}

export function normalizeVideoSplitParams(params: VideoSplitterParams): VideoSplitSpec {
  const p = checkObject(params, 'videoSplitter');
  checkKnownKeys(p, ['duration', 'segmentTimes', 'mode', 'minSegmentDuration']);
  if ((p.duration === undefined) === (p.segmentTimes === undefined))
    throw new Error('give exactly one of duration (seconds) or segmentTimes (a list of cut times in seconds)');
  const mode = p.mode === undefined ? 'fast' : checkOneOf('mode', p.mode, ['fast', 'accurate'] as const);
  const minSegmentDuration = p.minSegmentDuration === undefined ? 0 : checkNonNegativeNumber('minSegmentDuration', p.minSegmentDuration);
  if (p.duration !== undefined) return { cuts: { kind: 'every', seconds: checkPositiveNumber('duration', p.duration) }, mode, minSegmentDuration };
  if (!Array.isArray(p.segmentTimes) || p.segmentTimes.length === 0)
    throw new Error(`segmentTimes must be a non-empty list of seconds, got ${JSON.stringify(p.segmentTimes)}`);
  const times = p.segmentTimes.map((v, i) => checkPositiveNumber(`segmentTimes[${i}]`, v));
  times.forEach((v, i) => {
    if (i > 0 && v <= times[i - 1]!) throw new Error(`segmentTimes must be ascending: ${times[i - 1]} then ${v}`);
  });
  return { cuts: { kind: 'at', times }, mode, minSegmentDuration };
}
