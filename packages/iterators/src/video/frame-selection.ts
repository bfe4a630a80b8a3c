import type { FrameMode } from './frame-params';

/** Two frame times closer than this are a tie (float noise); ties go to the earlier frame. */
const TIE = 1e-9;

export interface FrameTimeline {
  /** presentation times in seconds, ascending */
  times: Float64Array;
  key: Uint8Array;
  /** the stream's nominal frame rate (r_frame_rate), if known */
  frameRate?: number;
  /** the video stream's stated duration in seconds, if the file states it */
  duration?: number;
  /** the stream's time base in seconds (pts quantum), for the end-of-video tolerance */
  timeUnit?: number;
}

/**
 * For ascending target times, the index of the nearest frame to each (ties to the earlier frame),
 * without repeats: a frame nearest to two targets is taken once.
 */
export function nearestFrames(times: Float64Array, targets: Iterable<number>): number[] {
  const out: number[] = [];
  let i = 0;
  for (const t of targets) {
    while (i + 1 < times.length && Math.abs(times[i + 1]! - t) < Math.abs(times[i]! - t) - TIE) i++;
    if (out.at(-1) !== i) out.push(i);
  }
  return out;
}

/**
 * The span the fps and numFrames grids cover: the video stream's stated duration, else up to the end
 * of its last frame. Never the container's duration: in a WebM whose audio runs longer, that would
 * put targets past the last frame (and take the last frame again for them).
 */
export function spanOf(tl: FrameTimeline): number {
  if (tl.duration !== undefined && tl.duration > 0) return tl.duration;
  const n = tl.times.length;
  const last = tl.times[n - 1]! - tl.times[0]!;
  const frameDur = tl.frameRate ? 1 / tl.frameRate : n > 1 ? last / (n - 1) : 0;
  return last + frameDur;
}

/** Which frames a mode takes: 'all', or ascending frame indices. `null` duration errors are the caller's. */
export function selectFrames(mode: FrameMode, tl: FrameTimeline): 'all' | number[] {
  const start = tl.times[0]!;
  switch (mode.kind) {
    case 'all':
      return 'all';
    case 'keyframes': {
      const out: number[] = [];
      tl.key.forEach((k, i) => k && out.push(i));
      return out;
    }
    case 'fps': {
      // at or above the native rate every frame is taken (DESIGN.md §5)
      if (tl.frameRate !== undefined && mode.fps >= tl.frameRate - TIE) return 'all';
      const end = start + spanOf(tl);
      // an end derived from pts is only as exact as the time base (1 ms in Matroska)
      const slack = tl.duration === undefined ? Math.max(TIE, tl.timeUnit ?? 0) : TIE;
      const fps = mode.fps;
      const targets = function* () {
        for (let k = 0; ; k++) {
          const t = start + k / fps; // k/fps, not an accumulated sum: no drift over hours
          if (t >= end - slack) return;
          yield t;
        }
      };
      const picked = nearestFrames(tl.times, targets());
      return picked.length === tl.times.length ? 'all' : picked;
    }
    case 'numFrames': {
      const duration = spanOf(tl);
      const count = mode.count;
      const targets = function* () {
        for (let i = 0; i < count; i++) yield start + ((i + 0.5) * duration) / count;
      };
      return nearestFrames(tl.times, targets());
    }
  }
}
