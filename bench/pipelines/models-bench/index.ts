import { definePipeline, t } from '@tessera/core';
import { openai } from '@tessera/functions';

/**
 * bench:models' pipeline: embeddings of text chunks (100 inputs per request) and a chat summary per
 * row, against the OpenAI-compatible test server the bench starts (BENCH_OPENAI_URL).
 */
export const CHAT_MODEL = 'bench-chat';
export const EMBED_MODEL = 'bench-embed';

export default definePipeline('models-bench', (p) => {
  const conn = { baseURL: process.env.BENCH_OPENAI_URL ?? 'http://127.0.0.1:9/v1', apiKeyEnv: 'BENCH_OPENAI_KEY' };
  const chunks = p.table('chunks', { id: t.int().primaryKey(), text: t.string() });
  chunks.compute('embedding', openai.embeddings(chunks.text, { ...conn, model: EMBED_MODEL, dimensions: 256, maxInputsPerRequest: 100 }));
  const rows = p.table('rows', { id: t.int().primaryKey(), text: t.string() });
  rows.compute('summary', openai.chat(rows.text, { ...conn, model: CHAT_MODEL, maxTokens: 100, prompt: 'Summarise: {input}' }));
});
