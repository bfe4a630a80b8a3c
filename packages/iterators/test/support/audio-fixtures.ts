import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ffmpeg } from './run';

export interface AudioFixtures {
  /** 10.000 s, 16 kHz mono PCM: 32,000 bytes per second */
  wav: string;
  /** the same tone as 64 kbit/s MP3 and AAC (m4a), and FLAC */
  mp3: string;
  m4a: string;
  flac: string;
  /** 10.016 s PCM: a 5 s grid leaves a 16 ms tail */
  tail: string;
  /** 10 s PCM tone with pauses (digital silence) at [2.5, 3.5) and [6.5, 7.5) */
  pauses: string;
  /** 6 s PCM: 1.5 s of silence, then a tone */
  leadingSilence: string;
  /** 3 s 64x48 H.264 video with a 3 s AAC audio track */
  videoWithAudio: string;
  /** a video with no audio stream */
  silentVideo: string;
  notAudio: string;
  missing: string;
}

export async function makeAudioFixtures(dir: string): Promise<AudioFixtures> {
  const f = (n: string) => join(dir, n);
  await ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000:duration=10', '-c:a', 'pcm_s16le', f('tone.wav'));
  await ffmpeg('-i', f('tone.wav'), '-c:a', 'libmp3lame', '-b:a', '64k', f('tone.mp3'));
  await ffmpeg('-i', f('tone.wav'), '-c:a', 'aac', '-b:a', '64k', f('tone.m4a'));
  await ffmpeg('-i', f('tone.wav'), '-c:a', 'flac', f('tone.flac'));
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=32x32:rate=5:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', f('silent.mp4'));
  await ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000:duration=10.016', '-c:a', 'pcm_s16le', f('tail.wav'));
  await ffmpeg('-f', 'lavfi', '-i', "aevalsrc='if(between(mod(t,4),2.5,3.5),0,sin(2*PI*440*t))':s=16000:d=10", '-c:a', 'pcm_s16le', f('pauses.wav'));
  await ffmpeg('-f', 'lavfi', '-i', "aevalsrc='if(lt(t,1.5),0,sin(2*PI*440*t))':s=16000:d=6", '-c:a', 'pcm_s16le', f('leading.wav'));
  await ffmpeg(
    ...['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=3', '-f', 'lavfi', '-i', 'sine=frequency=300:duration=3'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-b:a', '48k', '-shortest', f('with-audio.mp4')],
  );
  await writeFile(f('notes.mp3'), 'not audio at all\n'.repeat(10));
  return {
    tail: f('tail.wav'),
    pauses: f('pauses.wav'),
    leadingSilence: f('leading.wav'),
    videoWithAudio: f('with-audio.mp4'),
    wav: f('tone.wav'),
    mp3: f('tone.mp3'),
    m4a: f('tone.m4a'),
    flac: f('tone.flac'),
    silentVideo: f('silent.mp4'),
    notAudio: f('notes.mp3'),
    missing: f('missing.wav'),
  };
}
