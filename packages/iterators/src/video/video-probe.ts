import { inputError } from '../common/input';
import { startTool, toolCause } from '../ffmpeg/tool';
import { ffprobeInput } from '../ffmpeg/safe-input';

/**
 * The presentation-order list of a video stream's frames. Frame i here is the i-th frame ffmpeg's
 * decoder outputs, which is what `n` counts in the select filter.
 */
export interface FrameIndex {
  count: number;
  /** pts in stream time base, ascending; NaN when the container has no timestamps (raw streams) */
  pts: Float64Array;
  key: Uint8Array;
  hasPts: boolean;
}

export interface VideoProbe {
  /** [num, den] of the video stream */
  timeBase: [number, number];
  frameRate?: number;
  /** the video stream's own stated duration (a WebM often states none: only a DURATION tag) */
  duration?: number;
  /** the container's duration, which a longer audio track can stretch past the video's end */
  containerDuration?: number;
  index: FrameIndex;
}

class Growable {
  pts = new Float64Array(4096);
  key = new Uint8Array(4096);
  n = 0;
  push(pts: number, key: boolean) {
    if (this.n === this.pts.length) {
      const p = new Float64Array(this.n * 2);
      p.set(this.pts);
      this.pts = p;
      const k = new Uint8Array(this.n * 2);
      k.set(this.key);
      this.key = k;
    }
    this.pts[this.n] = pts;
    this.key[this.n] = key ? 1 : 0;
    this.n++;
  }
}

const num = (v: string | undefined) => (v === undefined || v === 'N/A' || v === '' ? undefined : Number.isFinite(Number(v)) ? Number(v) : undefined);
const ratio = (v: string | undefined) => {
  const [a, b] = (v ?? '').split('/').map(Number);
  return a && b && a > 0 && b > 0 ? a / b : undefined;
};

/** `section|k=v|k=v` (ffprobe's compact writer) */
function fields(line: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of line.split('|').slice(1)) {
    const eq = part.indexOf('=');
    if (eq > 0) m.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return m;
}

/**
 * One ffprobe pass over the first video stream: its time base, rate and duration, and the packet
 * list (pts and key flag of every frame, read by demuxing only; nothing is decoded). Frame i of the
 * presentation-ordered list is the i-th frame the decoder outputs. Typed arrays keep a 2-hour,
 * 30 fps video's 216,000 frames in ~2 MB.
 */
export async function probeVideo(file: string, ref: string, signal?: AbortSignal): Promise<VideoProbe> {
  const tool = startTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'packet=pts,flags:stream=codec_type,time_base,r_frame_rate,duration:format=duration',
      '-of',
      'compact=p=1:nk=0',
      ...ffprobeInput(file),
    ],
    { signal },
  );
  const g = new Growable();
  let missingPts = false;
  let stream: Map<string, string> | undefined;
  let format: Map<string, string> | undefined;
  let partial = '';
  const onLine = (line: string) => {
    if (line.startsWith('packet|')) {
      // fast path: "packet|pts=123|flags=K_"
      const p = line.indexOf('pts=');
      const f = line.indexOf('|flags=');
      const ptsText = line.slice(p + 4, f);
      const flags = line.slice(f + 7);
      if (flags.includes('D')) return; // discarded by the decoder (edit lists): never output
      const pts = ptsText === 'N/A' ? NaN : Number(ptsText);
      if (Number.isNaN(pts)) missingPts = true;
      g.push(pts, flags.startsWith('K'));
    } else if (line.startsWith('stream|')) stream = fields(line);
    else if (line.startsWith('format|')) format = fields(line);
  };
  for await (const chunk of tool.stdout) {
    const lines = (partial + (chunk as Buffer).toString('latin1')).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) onLine(l.trimEnd());
  }
  if (partial.trim()) onLine(partial.trimEnd());
  const exit = await tool.exited;
  if (exit.code !== 0) throw inputError(ref, `ffmpeg cannot read it: ${toolCause(exit, file)}`);
  if (!stream || stream.get('codec_type') !== 'video') throw inputError(ref, 'has no video stream');
  if (g.n === 0) throw inputError(ref, 'has no video frames');
  const [tn, td] = (stream.get('time_base') ?? '1/1').split('/').map(Number);

  let index: FrameIndex;
  if (missingPts) {
    // raw elementary streams: decoder order is presentation order and ffmpeg assigns pts itself
    index = { count: g.n, pts: new Float64Array(g.n).fill(NaN), key: g.key.slice(0, g.n), hasPts: false };
  } else {
    // packets come in decode order; sort to presentation order, carrying the key flags along
    const order = new Uint32Array(g.n).map((_, i) => i).sort((a, b) => g.pts[a]! - g.pts[b]!);
    const pts = new Float64Array(g.n);
    const key = new Uint8Array(g.n);
    order.forEach((src, dst) => {
      pts[dst] = g.pts[src]!;
      key[dst] = g.key[src]!;
    });
    index = { count: g.n, pts, key, hasPts: true };
  }
  return {
    timeBase: [tn || 1, td || 1],
    frameRate: ratio(stream.get('r_frame_rate')),
    duration: num(stream.get('duration')),
    containerDuration: num(format?.get('duration')),
    index,
  };
}
