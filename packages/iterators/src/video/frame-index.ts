/**
 * The presentation-order list of a video stream's frames (see probeVideo). Frame i here is the
 * i-th frame ffmpeg's decoder outputs, which is what `n` counts in the select filter.
 */
export interface FrameIndex {
  count: number;
  /** pts in stream time base, ascending; NaN when the container has no timestamps (raw streams) */
  pts: Float64Array;
  key: Uint8Array;
  hasPts: boolean;
}
