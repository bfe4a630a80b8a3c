import { checkKnownKeys, checkNonNegativeNumber, checkObject, checkPositiveInt, checkPositiveNumber } from '../common/check';

export interface AudioSplitterParams {
  /** segment length in seconds */
  duration?: number;
  /** largest segment file in bytes: the segment length is derived from the stream's bit rate */
  maxSize?: number;
  /** one segment: the whole audio track (audio extraction from a video) */
  whole?: boolean;
  /** seconds each segment extends past the next boundary (default 0) */
  overlap?: number;
  /** a last segment shorter than this many seconds is dropped (default 0) */
  minSegmentDuration?: number;
  /**
   * a last segment shorter than this many seconds is not emitted on its own: merged into the one
   * before (by duration) or balanced away (by maxSize). Default 0.5; 0 keeps every tail.
   */
  minTailDuration?: number;
  /** silence-aware cuts: a pause at least this long (seconds) is a place to cut (default: cut on the grid) */
  minSilenceLen?: number;
  /** with minSilenceLen: what counts as silence, in dBFS (default -40) */
  silenceThresh?: number;
  /** start the first segment where a leading silence (at least minSilenceLen, default 0.5 s) ends (default false) */
  trimLeadingSilence?: boolean;
}

export interface AudioSpec {
  size: { kind: 'duration'; seconds: number } | { kind: 'maxSize'; bytes: number } | { kind: 'whole' };
  overlap: number;
  minSegmentDuration: number;
  minTailDuration: number;
  /** silencedetect settings when silence is looked for (cuts or leading trim) */
  silence?: { minLen: number; threshDb: number; cut: boolean; trimLeading: boolean };
}

export const DEFAULT_MIN_TAIL = 0.5;
export const DEFAULT_SILENCE_LEN = 0.5;
export const DEFAULT_SILENCE_THRESH = -40;

export function normalizeAudioParams(params: AudioSplitterParams): AudioSpec {
  const p = checkObject(params, 'audioSplitter');
  checkKnownKeys(p, [
    'duration',
    'maxSize',
    'whole',
    'overlap',
    'minSegmentDuration',
    'minTailDuration',
    'minSilenceLen',
    'silenceThresh',
    'trimLeadingSilence',
  ]);
  if (p.whole !== undefined && typeof p.whole !== 'boolean') throw new Error(`whole must be true or false, got ${JSON.stringify(p.whole)}`);
  const given = (['duration', 'maxSize', 'whole'] as const).filter((k) => p[k] !== undefined && p[k] !== false);
  if (given.length !== 1) throw new Error('give exactly one of duration (seconds), maxSize (bytes) or whole (true)');
  const overlap = p.overlap === undefined ? 0 : checkNonNegativeNumber('overlap', p.overlap);
  const minSegmentDuration = p.minSegmentDuration === undefined ? 0 : checkNonNegativeNumber('minSegmentDuration', p.minSegmentDuration);
  const minTailDuration = p.minTailDuration === undefined ? DEFAULT_MIN_TAIL : checkNonNegativeNumber('minTailDuration', p.minTailDuration);
  if (p.trimLeadingSilence !== undefined && typeof p.trimLeadingSilence !== 'boolean')
    throw new Error(`trimLeadingSilence must be true or false, got ${JSON.stringify(p.trimLeadingSilence)}`);
  if (p.silenceThresh !== undefined && (typeof p.silenceThresh !== 'number' || !Number.isFinite(p.silenceThresh) || p.silenceThresh >= 0)) {
    throw new Error(`silenceThresh must be a negative number of dBFS, got ${JSON.stringify(p.silenceThresh)}`);
  }
  const cut = p.minSilenceLen !== undefined;
  const trimLeading = p.trimLeadingSilence === true;
  if (p.silenceThresh !== undefined && !cut && !trimLeading) throw new Error('silenceThresh is only used with minSilenceLen or trimLeadingSilence');
  const silence =
    cut || trimLeading
      ? {
          minLen: cut ? checkPositiveNumber('minSilenceLen', p.minSilenceLen) : DEFAULT_SILENCE_LEN,
          threshDb: (p.silenceThresh as number | undefined) ?? DEFAULT_SILENCE_THRESH,
          cut,
          trimLeading,
        }
      : undefined;
  const rest = { overlap, minSegmentDuration, minTailDuration, ...(silence ? { silence } : {}) };
  if (p.whole === true) {
    if (overlap || minSegmentDuration || cut) throw new Error('whole takes the whole track: overlap, minSegmentDuration and minSilenceLen do not apply');
    return { size: { kind: 'whole' }, ...rest };
  }
  if (p.duration !== undefined) {
    const seconds = checkPositiveNumber('duration', p.duration);
    if (overlap >= seconds) throw new Error(`overlap (${overlap}) must be smaller than duration (${seconds})`);
    if (minSegmentDuration > seconds) throw new Error(`minSegmentDuration (${minSegmentDuration}) must not exceed duration (${seconds})`);
    return { size: { kind: 'duration', seconds }, ...rest };
  }
  return { size: { kind: 'maxSize', bytes: checkPositiveInt('maxSize', p.maxSize) }, ...rest };
}
