export interface Segment {
  start: number;
  end: number;
}

/**
 * Segments on the fixed grid k·duration: segment k covers [k·d, min((k+1)·d + overlap, total)).
 * Boundaries are computed as k·d, never by adding d repeatedly, so hour-long files do not drift.
 * A last segment shorter than minSegmentDuration is dropped.
 */
export function audioGrid(total: number, duration: number, overlap: number, minSegmentDuration: number): Segment[] {
  const out: Segment[] = [];
  const EPS = 1e-9;
  for (let k = 0; ; k++) {
    const start = k * duration;
    if (start >= total - EPS) break;
    const end = Math.min(start + duration + overlap, total);
    if (end - start < minSegmentDuration - EPS) break;
    out.push({ start, end });
  }
  return out;
}

/** Share of maxSize given to audio bytes; the rest is container overhead (headers, packet framing). */
export const SIZE_MARGIN = 0.95;

/** The segment length whose bytes (with the overlap) fit in maxSize at `bytesPerSecond`, to the millisecond. */
export function durationForSize(maxSize: number, bytesPerSecond: number, overlap: number): number {
  return Math.floor(((maxSize * SIZE_MARGIN) / bytesPerSecond - overlap) * 1000) / 1000;
}
