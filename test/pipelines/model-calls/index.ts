import { definePipeline, t } from '@tessera/core';
import { openai } from '@tessera/functions';
import { openaiTestUrl } from '../../support/services';

/**
 * A chat column (one call per row) and an embedding column (2 rows per request) against the local
 * OpenAI-compatible test server at TESSERA_TEST_OPENAI_URL.
 */
export default definePipeline('model-calls', (p) => {
  const url = openaiTestUrl();
  const docs = p.table('docs', { id: t.int().primaryKey(), text: t.string() });
  docs.compute('summary', openai.chat(docs.text, { model: 'calls-chat', maxTokens: 32, prompt: 'Summarise: {input}', baseURL: url }));
  docs.compute('embedding', openai.embeddings(docs.text, { model: 'calls-embed', dimensions: 8, maxInputsPerRequest: 2, baseURL: url }));
});
