import { definePipeline, t } from '@tessera/core';
import { openai } from '@tessera/functions';
import { openaiTestUrl } from '../../support/services';

/** Model UDFs over media columns, against the local test server at TESSERA_TEST_OPENAI_URL. */
export default definePipeline('model-media', (p) => {
  const url = openaiTestUrl();
  const photos = p.table('photos', { id: t.string().primaryKey(), question: t.string(), image: t.image().nullable() });
  photos.compute('answer', openai.vision(photos.question, photos.image, { model: 'test-vision', maxTokens: 32, baseURL: url }));
  const clips = p.table('clips', { id: t.string().primaryKey(), audio: t.audio() });
  clips.compute('transcript', openai.transcribe(clips.audio, { model: 'whisper-1', language: 'en', baseURL: url }));
});
