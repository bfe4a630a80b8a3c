import { inputError } from '../common/input';
import { runTool, toolCause } from './tool';
import { ffprobeInput } from './safe-input';

export interface ProbedStream {
  index: number;
  codecType: string;
  codecName: string;
  /** [num, den] */
  timeBase: [number, number];
  /** frames per second from r_frame_rate, or undefined when ffprobe cannot tell */
  frameRate?: number;
  duration?: number;
  startTime?: number;
  bitRate?: number;
}

export interface ProbedMedia {
  formatName: string;
  duration?: number;
  startTime?: number;
  size?: number;
  bitRate?: number;
  streams: ProbedStream[];
}

const num = (v: unknown): number | undefined => {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};

const ratio = (v: unknown): number | undefined => {
  if (typeof v !== 'string') return undefined;
  const [a, b] = v.split('/').map(Number);
  return a !== undefined && b !== undefined && a > 0 && b > 0 ? a / b : undefined;
};

/** ffprobe a file's container and streams; a file ffmpeg cannot read is a cell error naming it. */
export async function probeMedia(file: string, ref: string, signal?: AbortSignal): Promise<ProbedMedia> {
  const { stdout, exit } = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-show_entries',
      'format=format_name,duration,start_time,size,bit_rate:stream=index,codec_type,codec_name,time_base,r_frame_rate,duration,start_time,bit_rate',
      '-of',
      'json',
      ...ffprobeInput(file),
    ],
    { signal },
  );
  if (exit.code !== 0) throw inputError(ref, `ffmpeg cannot read it: ${toolCause(exit, file)}`);
  let json: { format?: Record<string, unknown>; streams?: Array<Record<string, unknown>> };
  try {
    json = JSON.parse(stdout.toString('utf8'));
  } catch {
    throw inputError(ref, 'ffprobe returned unreadable output');
  }
  const f = json.format ?? {};
  return {
    formatName: String(f.format_name ?? ''),
    duration: num(f.duration),
    startTime: num(f.start_time),
    size: num(f.size),
    bitRate: num(f.bit_rate),
    streams: (json.streams ?? []).map((s) => {
      const [tn, td] = String(s.time_base ?? '1/1')
        .split('/')
        .map(Number);
      return {
        index: Number(s.index),
        codecType: String(s.codec_type ?? ''),
        codecName: String(s.codec_name ?? ''),
        timeBase: [tn || 1, td || 1] as [number, number],
        frameRate: ratio(s.r_frame_rate),
        duration: num(s.duration),
        startTime: num(s.start_time),
        bitRate: num(s.bit_rate),
      };
    }),
  };
}
