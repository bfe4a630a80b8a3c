import { inputError } from '../common/input';
import { startTool, toolCause } from '../ffmpeg/tool';

/**
 * The presentation-order list of a video stream's frames, read from packets only (ffprobe demuxes,
 * it does not decode, so this costs a small fraction of the decode). Frame i here is the i-th frame
 * ffmpeg's decoder outputs, which is what `n` counts in the select filter.
 * Typed arrays: a 2-hour 30 fps video is 216,000 frames, ~2 MB here.
 */
export interface FrameIndex {
  count: number;
  /** pts in stream time base, ascending; NaN when the container has no timestamps (raw streams) */
  pts: Float64Array;
  key: Uint8Array;
  hasPts: boolean;
}

class Growable {
  pts = new Float64Array(1024);
  key = new Uint8Array(1024);
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

export async function readFrameIndex(file: string, ref: string, signal?: AbortSignal): Promise<FrameIndex> {
  const tool = startTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts,flags', '-of', 'csv=p=0', file], { signal });
  const g = new Growable();
  let partial = '';
  let missingPts = false;
  const onLine = (line: string) => {
    const comma = line.indexOf(',');
    if (comma < 0) return;
    const flags = line.slice(comma + 1);
    if (flags.includes('D')) return; // discarded by the decoder (edit lists): never output
    const ptsText = line.slice(0, comma);
    const pts = ptsText === 'N/A' ? NaN : Number(ptsText);
    if (Number.isNaN(pts)) missingPts = true;
    g.push(pts, flags.startsWith('K'));
  };
  for await (const chunk of tool.stdout) {
    const lines = (partial + (chunk as Buffer).toString('latin1')).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) onLine(l.trim());
  }
  if (partial.trim()) onLine(partial.trim());
  const exit = await tool.exited;
  if (exit.code !== 0) throw inputError(ref, `ffmpeg cannot read it: ${toolCause(exit, file)}`);
  if (g.n === 0) throw inputError(ref, 'has no video frames');

  if (missingPts) {
    // raw elementary streams: decoder order is presentation order and ffmpeg assigns pts itself
    return { count: g.n, pts: new Float64Array(g.n).fill(NaN), key: g.key.slice(0, g.n), hasPts: false };
  }
  // packets come in decode order; sort to presentation order, carrying the key flags along
  const order = Array.from({ length: g.n }, (_, i) => i).sort((a, b) => g.pts[a]! - g.pts[b]!);
  const pts = new Float64Array(g.n);
  const key = new Uint8Array(g.n);
  order.forEach((src, dst) => {
    pts[dst] = g.pts[src]!;
    key[dst] = g.key[src]!;
  });
  return { count: g.n, pts, key, hasPts: true };
}
