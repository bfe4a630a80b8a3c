import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { runTool, startTool, toolCause } from '../src/ffmpeg/tool';
import { ffmpegInput, ffprobeInput } from '../src/ffmpeg/safe-input';
import { tempDir } from '../../../test/support/temp-dir';
import { envForTests } from '../../../test/support/with-env';

/**
 * The stall deadline (TESSERA_FFMPEG_STALL_MS, 1 s here): a tool stuck on its input is stopped, with
 * a cause that says so; a tool that waits on its caller (stdout unread, stdin still open) is not.
 * The stuck input is a FIFO nobody writes to: ffmpeg and ffprobe block opening it, as they would in
 * a demuxer that never returns.
 */
const dir = tempDir('tessera-ffmpeg-tool-');
envForTests({ TESSERA_FFMPEG_STALL_MS: '1000' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.each([
  ['ffmpeg', (fifo: string) => [...ffmpegInput(fifo), '-f', 'null', '-']],
  ['ffprobe', (fifo: string) => ['-v', 'error', '-show_entries', 'format=duration', ...ffprobeInput(fifo)]],
] as const)('%s stuck on its input is stopped after the stall deadline, and says so', async (tool, args) => {
  const fifo = join(dir, `stuck-${tool}`);
  execFileSync('mkfifo', [fifo]);
  const { exit } = await runTool(tool, args(fifo));
  expect(exit.stalled).toBe(1000);
  expect(exit.signal).toBe('SIGKILL');
  expect(toolCause(exit, fifo)).toBe('it showed no progress for 1 s and was stopped (TESSERA_FFMPEG_STALL_MS)');
});

test('ffmpeg blocked on output its caller has not read yet is not stopped', async () => {
  // 23 MB of raw frames: far more than the pipe holds, so ffmpeg waits on the unread output
  const running = startTool('ffmpeg', ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25:duration=4', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
  await sleep(3500);
  let bytes = 0;
  for await (const chunk of running.stdout) bytes += (chunk as Buffer).length;
  const exit = await running.exited;
  expect([exit.code, exit.stalled]).toEqual([0, undefined]);
  expect(bytes).toBe(100 * 320 * 240 * 3);
});

test('ffmpeg waiting for a filter script its caller writes later is not stopped; its progress lines stay out of the stderr it reports', async () => {
  const lines: string[] = [];
  const running = startTool(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'info', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=2', '-filter_script:v', 'pipe:0', '-f', 'null', '-'],
    { keepStdin: true, onStderrLine: (l) => lines.push(l) },
  );
  await sleep(3500);
  running.stdin.end('showinfo');
  for await (const _ of running.stdout);
  const exit = await running.exited;
  expect([exit.code, exit.stalled]).toEqual([0, undefined]);
  expect(lines.filter((l) => l.includes('Parsed_showinfo'))).not.toEqual([]);
  expect(lines.filter((l) => /^[a-z0-9_]+=\S*$/.test(l))).toEqual([]);
});
