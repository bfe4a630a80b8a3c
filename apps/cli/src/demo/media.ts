import { execFile } from 'node:child_process';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { exists } from './files';

const run = promisify(execFile);

/** A short clip drawn by one of ffmpeg's own sources, with a spoken (or, without flite, a tone) track. */
interface Clip {
  id: string;
  title: string;
  video: string;
  seconds: number;
  say: string;
}

const CLIPS: Clip[] = [
  {
    id: 'test-pattern',
    title: 'A test pattern with a moving gradient',
    video: 'testsrc2=s=320x240:r=25',
    seconds: 6,
    say: 'This is a test pattern. Tessera takes one frame every second.',
  },
  {
    id: 'mandelbrot',
    title: 'A zoom into the Mandelbrot set',
    video: 'mandelbrot=s=320x240:r=25',
    seconds: 5,
    say: 'A zoom into the Mandelbrot set, computed by ffmpeg.',
  },
  {
    id: 'game-of-life',
    title: "Conway's game of life",
    video: 'life=s=320x240:r=25:mold=10:ratio=0.1:death_color=#C83232:life_color=#00FF00',
    seconds: 5,
    say: 'Cells are born and die in the game of life.',
  },
  {
    id: 'bars-fade',
    title: 'Colour bars fading to black',
    video: 'smptebars=s=320x240:r=25,fade=t=out:st=1:d=3',
    seconds: 5,
    say: 'Colour bars fade to black; the frames get darker.',
  },
];

const NARRATION = [
  {
    id: 'welcome',
    script:
      'Welcome to Tessera. It keeps every computed cell of your tables up to date, as rows arrive, change or go. Workers share the work through Redis, and Postgres keeps the record.',
  },
  {
    id: 'exports',
    script:
      'When a version is done, its changes are exported: to Postgres, to MySQL, to LanceDB, and to Parquet files. Frames and audio segments go to a media store.',
  },
];

let fliteChecked: Promise<boolean> | undefined;
/** Debian's ffmpeg has libflite, a small offline speech synthesizer; other builds may not. */
const hasFlite = () =>
  (fliteChecked ??= run('ffmpeg', ['-hide_banner', '-filters']).then(
    (r) => /\bflite\b/.test(r.stdout),
    () => false,
  ));

/** An audio source for lavfi: the text spoken by flite (read from a file, so no escaping), else a tone per word. */
async function voice(dir: string, name: string, text: string): Promise<string> {
  if (await hasFlite()) {
    const file = path.join(dir, `${name}.txt`);
    await writeFile(file, text);
    return `flite=textfile='${file.replace(/'/g, "'\\''")}':voice=slt`;
  }
  const words = text.split(/\s+/).length;
  return `aevalsrc='0.3*sin(2*PI*(330+110*mod(floor(t*3),4))*t)':s=16000:d=${(words / 3).toFixed(1)}`;
}

/** Write through a temporary name, so an interrupted run never leaves a half-written file behind. */
async function produce(target: string, make: (tmp: string) => Promise<unknown>): Promise<void> {
  if (await exists(target)) return;
  const tmp = `${target}.part${path.extname(target)}`;
  try {
    await make(tmp);
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
}

export interface MediaRows {
  videos: Array<{ id: string; video: string; title: string }>;
  narration: Array<{ id: string; audio: string; script: string }>;
  voice: 'flite' | 'tones';
}

/**
 * The main job's videos and narration, generated here with ffmpeg (no download): four short clips
 * (320x240, 5-6 s, H.264 + AAC with a spoken track) and two spoken narrations (WAV), written once
 * into `<dataDir>/videos` and `<dataDir>/audio`; later runs find them there.
 */
export async function generateMedia(dataDir: string): Promise<MediaRows> {
  await run('ffmpeg', ['-version']).catch(() => {
    throw new Error('ffmpeg is not installed: the main job makes its videos and audio with it (Debian: apt-get install ffmpeg)');
  });
  const videoDir = path.join(dataDir, 'videos');
  const audioDir = path.join(dataDir, 'audio');
  const scratch = path.join(dataDir, 'scripts');
  await Promise.all([videoDir, audioDir, scratch].map((d) => mkdir(d, { recursive: true })));
  const videos: MediaRows['videos'] = [];
  for (const c of CLIPS) {
    const file = path.join(videoDir, `${c.id}.mp4`);
    const audio = await voice(scratch, c.id, c.say);
    await produce(file, (tmp) =>
      run('ffmpeg', [
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        c.video,
        '-f',
        'lavfi',
        '-i',
        audio,
        '-t',
        String(c.seconds),
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-pix_fmt',
        'yuv420p',
        '-c:a',
        'aac',
        '-b:a',
        '64k',
        '-af',
        'apad',
        '-shortest',
        '-movflags',
        '+faststart',
        tmp,
      ]),
    );
    videos.push({ id: c.id, video: file, title: c.title });
  }
  const narration: MediaRows['narration'] = [];
  for (const n of NARRATION) {
    const file = path.join(audioDir, `${n.id}.wav`);
    const audio = await voice(scratch, n.id, n.script);
    await produce(file, (tmp) => run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', audio, '-ac', '1', '-ar', '16000', tmp]));
    narration.push({ id: n.id, audio: file, script: n.script });
  }
  return { videos, narration, voice: (await hasFlite()) ? 'flite' : 'tones' };
}
