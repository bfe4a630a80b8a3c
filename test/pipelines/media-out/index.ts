import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { definePipeline, defineUdf, t } from '@tessera/core';
import { openai } from '@tessera/functions';
import { solidPng } from '../../support/openai-server/png';
import { openaiTestUrl } from '../../support/services';

/**
 * Generated media to every kind of destination: images from the local OpenAI-compatible test
 * server (TESSERA_TEST_OPENAI_URL) and from a UDF that returns PNG bytes, and WAV tones large
 * enough for multipart/block uploads, written by a UDF to a temporary file. The destinations
 * name an S3 bucket, a GCS bucket and an Azure container the test's emulators serve; credentials
 * and endpoints come from the worker's environment.
 */
const baseURL = openaiTestUrl();
const AZ = 'az://devstoreaccount1/media';

/** A PNG swatch of the text's colour, as bytes; its type names its own destination. */
const swatch = defineUdf({
  name: 'test.swatch',
  version: '1',
  params: [t.string()],
  returns: t.image().destination('s3://media/swatches'),
  fn: ([text]) => {
    const h = Buffer.from(text);
    return solidPng(4, 4, [h[0] ?? 0, h[1] ?? 0, h[2] ?? 0]);
  },
});

/** `seconds` of a 48 kHz 16-bit mono sine, as a WAV file in a temporary directory. */
export function toneWav(seconds: number): Buffer {
  const rate = 48_000;
  const n = rate * seconds;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2);
  return b;
}

const tone = defineUdf({
  name: 'test.tone',
  version: '1',
  params: [t.int()],
  returns: t.audio(),
  queue: 'media',
  fn: async ([seconds]) => {
    const file = path.join(tmpdir(), `tessera-tone-${randomBytes(6).toString('hex')}.wav`);
    await writeFile(file, toneWav(seconds));
    return { file, temporary: true };
  },
});

export default definePipeline('media-out', (p) => {
  const prompts = p.table('prompts', { id: t.string().primaryKey(), text: t.string(), seconds: t.int() });
  const image = () => openai.generateImage(prompts.text, { model: 'test-image', baseURL });
  prompts.compute('img_local', image()); // no destination: TESSERA_MEDIA_DESTINATION
  prompts.compute('img_s3', image(), { destination: 's3://media/generated' });
  prompts.compute('img_gcs', image(), { destination: 'gs://media/generated' });
  prompts.compute('img_az', image(), { destination: `${AZ}/generated` });
  prompts.compute('swatch', swatch(prompts.text));
  prompts.compute('tone_s3', tone(prompts.seconds), { destination: 's3://media/tones' });
  prompts.compute('tone_gcs', tone(prompts.seconds), { destination: 'gs://media/tones' });
  prompts.compute('tone_az', tone(prompts.seconds), { destination: `${AZ}/tones` });
});
