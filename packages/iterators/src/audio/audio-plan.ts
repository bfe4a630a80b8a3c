import type { Segment } from './audio-grid';

/** A stretch of silence found by ffmpeg's silencedetect, in seconds. */
export interface Silence {
  start: number;
  end: number;
}

export interface PlanOptions {
  /** longest segment (before overlap), seconds */
  duration: number;
  overlap: number;
  /** a last segment shorter than this is dropped (the user's explicit cut-off) */
  minSegmentDuration: number;
  /** a last segment shorter than this is not emitted on its own (see `planSegments`) */
  minTailDuration: number;
  /** maxSize mode: no segment may grow past `duration`, so short tails are balanced away instead of merged */
  sizeBound: boolean;
  /** where the first segment starts (the end of a leading silence when trimming it), default 0 */
  from?: number;
  /** silences to cut in (silence-aware mode); undefined: cut on the grid */
  silences?: Silence[];
}

const EPS = 1e-9;

/**
 * Where a segment starting at `start` ends: at the grid boundary `start + d`, or, with silences,
 * at the middle of the latest silence whose middle falls in the segment's second half (so a cut
 * lands in a pause, not in a word, and no segment is shorter than d/2 unless the audio ends).
 */
function cutAfter(start: number, d: number, total: number, silences: Silence[] | undefined): number {
  const boundary = start + d;
  if (boundary >= total - EPS) return total;
  if (!silences) return boundary;
  let best: number | undefined;
  for (const s of silences) {
    const mid = (s.start + Math.min(s.end, total)) / 2;
    if (mid > start + d / 2 + EPS && mid <= boundary + EPS) best = mid;
  }
  return best ?? boundary;
}

function cuts(total: number, d: number, from: number, silences: Silence[] | undefined): number[] {
  const starts: number[] = [];
  if (silences === undefined) {
    // the fixed grid: k·d from `from`, never accumulated, so hour-long files do not drift
    for (let k = 0; from + k * d < total - EPS; k++) starts.push(from + k * d);
    return starts;
  }
  for (let s = from; s < total - EPS; s = cutAfter(s, d, total, silences)) starts.push(s);
  return starts;
}

/**
 * The segments of an audio track. Segment i covers [start_i, min(start_{i+1} + overlap, total)).
 * Short tails: a last segment shorter than `minTailDuration` would cost a transcription call for a
 * few milliseconds of audio, so it is not emitted on its own. By duration its audio is merged into
 * the segment before (which then ends at the end of the file, up to minTailDuration longer than
 * `duration`); by maxSize, where no segment may grow, the segments are made equally long instead
 * (span / count, each shorter than `duration`), which leaves no short tail. A last segment still
 * shorter than `minSegmentDuration` is then dropped.
 */
export function planSegments(total: number, o: PlanOptions): Segment[] {
  const from = o.from ?? 0;
  let starts = cuts(total, o.duration, from, o.silences);
  const tail = () => total - starts[starts.length - 1]!;
  if (starts.length > 1 && tail() < o.minTailDuration - EPS) {
    // by maxSize a tail that balancing cannot remove (silence cuts) stays: maxSize is a hard limit
    if (o.sizeBound) starts = cuts(total, (total - from) / starts.length, from, o.silences);
    else starts = starts.slice(0, -1);
  }
  const out: Segment[] = starts.map((start, i) => ({ start, end: i + 1 < starts.length ? Math.min(starts[i + 1]! + o.overlap, total) : total }));
  const last = out[out.length - 1];
  if (last && last.end - last.start < o.minSegmentDuration - EPS) out.pop();
  return out;
}

/** Parse silencedetect's stderr lines ("silence_start: 2.5", "silence_end: 3.5 | silence_duration: 1"). */
export function silenceParser(): { line(l: string): void; result(total: number): Silence[] } {
  const out: Silence[] = [];
  let open: number | undefined;
  return {
    line(l) {
      const s = /silence_start: (-?[\d.]+)/.exec(l);
      if (s) open = Math.max(0, Number(s[1]));
      const e = /silence_end: (-?[\d.]+)/.exec(l);
      if (e && open !== undefined) {
        out.push({ start: open, end: Number(e[1]) });
        open = undefined;
      }
    },
    result(total) {
      // a silence still open at the end of the file runs to the end
      return open === undefined ? out : [...out, { start: open, end: total }];
    },
  };
}
