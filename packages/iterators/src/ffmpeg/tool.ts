/**
 * A small typed wrapper over child_process.spawn for ffmpeg and ffprobe.
 *
 * Why not fluent-ffmpeg: it was archived in May 2025 and is deprecated; it builds command lines
 * from a fluent API we do not need, buffers stderr into strings, and has no typed results. We only
 * need three things: spawn with arguments, stream stdout with backpressure, and read stderr line
 * by line (showinfo output, error causes). That fits in this file.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { ConfigError } from '@tessera/core';
import { refusedFormat } from './safe-input';
import { mediaLimits } from '../common/limits';

export type ToolName = 'ffmpeg' | 'ffprobe';

/** Binaries are found on PATH unless TESSERA_FFMPEG / TESSERA_FFPROBE name them (the Docker image has Debian's). */
export function toolPath(tool: ToolName): string {
  return (tool === 'ffmpeg' ? process.env.TESSERA_FFMPEG : process.env.TESSERA_FFPROBE) || tool;
}

export interface ToolExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** the last stderr lines, for error messages */
  stderrTail: string[];
  /** stopped by the stall deadline (TESSERA_FFMPEG_STALL_MS) */
  stalled?: number;
}

export interface RunningTool {
  readonly pid: number | undefined;
  readonly stdout: Readable;
  /** open only with `keepStdin`; errors (EPIPE when the tool died) are swallowed, `exited` tells */
  readonly stdin: Writable;
  /** resolves when the process has exited (never rejects; a spawn failure rejects) */
  readonly exited: Promise<ToolExit>;
  /** stop the process (idempotent); used when the consumer stops iterating early */
  kill(): void;
}

export interface StartOptions {
  signal?: AbortSignal;
  /** called for every stderr line, in order */
  onStderrLine?: (line: string) => void;
  /** how many trailing stderr lines to keep for messages */
  tailLines?: number;
  /** leave stdin open for the caller (e.g. a filter script read from pipe:0); otherwise it is closed */
  keepStdin?: boolean;
  /** lines that are progress output rather than errors, kept out of the message tail */
  isNoise?: (line: string) => boolean;
}

/** How often ffmpeg reports its progress (to stderr, `-progress pipe:2`): the stall deadline's heartbeat. */
const PROGRESS_EVERY_S = 5;
/** A line of ffmpeg's progress report (`frame=12`, `out_time_us=400000`, `progress=continue`). */
const PROGRESS_LINE = /^[a-z0-9_]+=\S*$/;

/**
 * Start a tool; stdout is streamed to the caller, stderr is split into lines. A tool that shows no
 * sign of work for a whole TESSERA_FFMPEG_STALL_MS (checked at that interval, so it has between one
 * and two of them) is killed, its exit marked `stalled`: ffmpeg reports its
 * progress every few seconds while its main loop runs, and ffprobe's output streams, so silence is a
 * tool stuck on its input (a demuxer or decoder that never returns), which would otherwise hold its
 * job, its lock renewed, for ever. Time that the caller leaves stdout unread, or keeps stdin open,
 * does not count.
 */
export function startTool(tool: ToolName, args: readonly string[], opts: StartOptions = {}): RunningTool {
  const progress = tool === 'ffmpeg' ? ['-progress', 'pipe:2', '-stats_period', String(PROGRESS_EVERY_S)] : [];
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(toolPath(tool), [...progress, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stallMs = mediaLimits().ffmpegStallMs;
  let stalled: number | undefined;
  // a tool fed on stdin waits for the caller until the caller ends it (the frame iterator's filter script)
  let watching = !opts.keepStdin;
  let heard = false;
  let outBytes = 0;
  // polled rather than listened to: a 'data' listener on stdout would take output from the caller
  const watchdog = setInterval(() => {
    const out = (child.stdout as Readable & { bytesRead?: number }).bytesRead ?? 0;
    // output waiting for the caller: the tool is blocked on it, not stuck
    const working = !watching || heard || out !== outBytes || child.stdout.readableLength > 0;
    heard = false;
    outBytes = out;
    if (working) return;
    stalled = stallMs;
    kill();
  }, stallMs);
  watchdog.unref();
  child.stdin.once('finish', () => {
    watching = true;
    heard = true;
  });
  child.stdin.on('error', () => undefined);
  if (!opts.keepStdin) child.stdin.end();
  const tail: string[] = [];
  const keep = opts.tailLines ?? 12;
  let partial = '';
  const onLine = (line: string) => {
    if (line.length === 0) return;
    if (progress.length && PROGRESS_LINE.test(line)) return;
    opts.onStderrLine?.(line);
    if (opts.isNoise?.(line)) return;
    tail.push(line.length > 500 ? line.slice(0, 500) : line);
    if (tail.length > keep) tail.shift();
  };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    heard = true;
    const lines = (partial + chunk).split(/\r?\n|\r/);
    partial = lines.pop() ?? '';
    lines.forEach(onLine);
  });
  let killed = false;
  const kill = () => {
    if (killed || child.exitCode !== null) return;
    killed = true;
    child.kill('SIGKILL');
  };
  const onAbort = () => kill();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const exited = new Promise<ToolExit>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearInterval(watchdog);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err.code === 'ENOENT')
        reject(new ConfigError(`${tool} not found (looked for "${toolPath(tool)}"); install ffmpeg or set TESSERA_${tool.toUpperCase()}`));
      else reject(err);
    });
    child.once('close', (code, signal) => {
      clearInterval(watchdog);
      opts.signal?.removeEventListener('abort', onAbort);
      if (partial) onLine(partial);
      resolve({ code, signal, stderrTail: tail, ...(stalled ? { stalled } : {}) });
    });
  });
  // a spawn failure must not become an unhandled rejection when the caller only reads stdout
  exited.catch(() => undefined);
  return { pid: child.pid, stdout: child.stdout, stdin: child.stdin, exited, kill };
}

/** Run a tool to completion and collect its (small) stdout. */
export async function runTool(tool: ToolName, args: readonly string[], opts: StartOptions = {}): Promise<{ stdout: Buffer; exit: ToolExit }> {
  const running = startTool(tool, args, opts);
  const chunks: Buffer[] = [];
  for await (const c of running.stdout) chunks.push(c as Buffer);
  const exit = await running.exited;
  return { stdout: Buffer.concat(chunks), exit };
}

/**
 * The cause of an ffmpeg/ffprobe failure for a message: its last few distinct stderr lines, without
 * the `[demuxer @ 0x..]` prefixes and without the local path (the caller names the file itself).
 */
export function toolCause(exit: ToolExit, file?: string): string {
  if (exit.stalled) return `it showed no progress for ${exit.stalled / 1000} s and was stopped (TESSERA_FFMPEG_STALL_MS)`;
  const refused = refusedFormat(exit.stderrTail);
  if (refused) return `it is a file of format ${refused}, which is not read (playlists and formats that name other files or URLs are refused)`;
  const lines = exit.stderrTail
    .map((l) => l.replace(/^\[[^\]]+ @ 0x[0-9a-f]+\]\s*/, '').trim())
    // the input is opened as file:<path> (safe-input.ts)
    .map((l) => (file && l.startsWith(`file:${file}: `) ? l.slice(file.length + 7) : l))
    .map((l) => (file && l.startsWith(`${file}: `) ? l.slice(file.length + 2) : l))
    .filter(Boolean);
  const distinct = [...new Set(lines)].slice(-3);
  if (distinct.length) return distinct.join('; ');
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}
