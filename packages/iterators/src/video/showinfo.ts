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
