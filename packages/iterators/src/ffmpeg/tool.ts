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

/** Start a tool; stdout is streamed to the caller, stderr is split into lines. */
export function startTool(tool: ToolName, args: readonly string[], opts: StartOptions = {}): RunningTool {
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(toolPath(tool), args, {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.on('error', () => undefined);
  if (!opts.keepStdin) child.stdin.end();
  const tail: string[] = [];
  const keep = opts.tailLines ?? 12;
  let partial = '';
  const onLine = (line: string) => {
    if (line.length === 0) return;
    opts.onStderrLine?.(line);
    if (opts.isNoise?.(line)) return;
    tail.push(line.length > 500 ? line.slice(0, 500) : line);
    if (tail.length > keep) tail.shift();
  };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
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
      opts.signal?.removeEventListener('abort', onAbort);
      if (err.code === 'ENOENT')
        reject(new ConfigError(`${tool} not found (looked for "${toolPath(tool)}"); install ffmpeg or set TESSERA_${tool.toUpperCase()}`));
      else reject(err);
    });
    child.once('close', (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (partial) onLine(partial);
      resolve({ code, signal, stderrTail: tail });
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
