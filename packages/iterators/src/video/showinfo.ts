/** One frame as ffmpeg's showinfo filter reports it on stderr. */
export interface ShownFrame {
  /** sequence number at the filter (counts only frames that reached it) */
  n: number;
  /** pts in the filter's time base (the stream's, with -copyts) */
  pts: number;
  keyFrame: boolean;
}

// e.g. "[Parsed_showinfo_1 @ 0x55..] n:   0 pts:   1024 pts_time:0.0666667 pos: 2608 ... iskey:0 type:P ..."
const LINE = /^\[Parsed_showinfo_\d+ @ [^\]]+\] n:\s*(\d+) pts:\s*(-?\d+|NOPTS) .*?\biskey:(\d)/;

export function parseShowinfo(line: string): ShownFrame | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  return { n: Number(m[1]), pts: m[2] === 'NOPTS' ? NaN : Number(m[2]), keyFrame: m[3] === '1' };
}

const CONFIG = /^\[Parsed_showinfo_\d+ @ [^\]]+\] config in time_base: (\d+)\/(\d+)/;

/** The time base of the frames showinfo sees, from its "config in" line (printed before any frame). */
export function parseShowinfoTimeBase(line: string): [number, number] | undefined {
  const m = CONFIG.exec(line);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** showinfo's own lines: per-frame output, not an error cause. */
export const isShowinfoLine = (line: string): boolean => line.startsWith('[Parsed_showinfo_');
