import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export const exec = promisify(execFile);

/** Run ffmpeg quietly; throws with its stderr when it fails. */
export async function ffmpeg(...args: string[]): Promise<void> {
  await exec('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { maxBuffer: 1 << 24 });
}

export async function ffprobeJson(file: string, entries: string): Promise<any> {
  const { stdout } = await exec('ffprobe', ['-v', 'error', '-show_entries', entries, '-of', 'json', file], { maxBuffer: 1 << 26 });
  return JSON.parse(stdout);
}
