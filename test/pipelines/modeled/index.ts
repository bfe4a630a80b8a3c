import { definePipeline, t } from '@tessera/core';
import { openai } from '@tessera/functions';
import { openaiTestUrl } from '../../support/services';

/** Embeddings from the local OpenAI-compatible test server (TESSERA_TEST_OPENAI_URL), 5 inputs per request. */
export default definePipeline('modeled', (p) => {
  const chunks = p.table('chunks', { id: t.int().primaryKey(), text: t.string() });
  chunks.compute(
    'embedding',
    openai.embeddings(chunks.text, {
      model: 'test-embed',
      dimensions: 8,
      maxInputsPerRequest: 5,
      baseURL: openaiTestUrl(),
    }),
  );
});
