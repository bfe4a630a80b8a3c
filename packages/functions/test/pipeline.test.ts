import { z } from 'zod';
import { definePipeline, planPipeline, t, type Expr } from '@tessera/core';
import { anthropic, gemini, localEmbedding, openai, upper, wordCount } from '../src';

/** The UDFs used the way a pipeline author writes them: typed column expressions, planned onto queues. */
test('model UDFs in a pipeline land on model queues; builtins on cpu', () => {
  const def = definePipeline('docs', (p) => {
    const docs = p.table('docs', { id: t.string().primaryKey(), text: t.string(), photo: t.image(), clip: t.audio() });
    docs.compute('emb', openai.embeddings(docs.text, { model: 'text-embedding-3-small' }));
    docs.compute('local_emb', localEmbedding(docs.text));
    docs.compute('summary', openai.chat(docs.text, { model: 'gpt-4o-mini', prompt: 'Summarise: {input}' }));
    docs.compute('caption', openai.vision('Describe the photo', docs.photo, { model: 'gpt-4o-mini' }));
    docs.compute('meta', openai.structured(docs.text, { model: 'gpt-4o-mini', schema: z.object({ topic: z.string() }) }));
    docs.compute('words', openai.transcribe(docs.clip, { model: 'whisper-1' }));
    docs.compute('art', openai.generateImage(docs.text, { model: 'gpt-image-1' }));
    docs.compute('claude', anthropic.messages(docs.text, { model: 'claude-haiku-4-5' }));
    docs.compute('gem', gemini.generate(docs.text, { model: 'gemini-2.5-flash' }));
    docs.compute('loud', upper(docs.text));
    docs.compute('n', wordCount(docs.text));
  });
  const table = planPipeline(def).tables[0]!;
  const queue = (name: string) => table.columns.find((c) => c.name === name)!.computed!.queue;
  expect(queue('emb')).toBe('model:openai:text-embedding-3-small');
  expect(queue('summary')).toBe('model:openai:gpt-4o-mini');
  expect(queue('words')).toBe('model:openai:whisper-1');
  expect(queue('claude')).toBe('model:anthropic:claude-haiku-4-5');
  expect(queue('gem')).toBe('model:gemini:gemini-2.5-flash');
  expect(queue('local_emb')).toBe('cpu');
  expect(queue('loud')).toBe('cpu');
  expect(table.columns.find((c) => c.name === 'emb')!.type).toMatchObject({ kind: 'array', dim: 1536 });
  expect(table.columns.find((c) => c.name === 'local_emb')!.type).toMatchObject({ kind: 'array', dim: 384 });
  // no secret in what the catalog stores
  expect(JSON.stringify(table)).not.toMatch(/sk-/);
});

test('nullable columns are accepted by every model UDF (a null cell is null without a call)', () => {
  // type-level: these lines did not compile while the UDFs wanted non-null expressions
  const def = definePipeline('nullable', (p) => {
    const d = p.table('d', { id: t.string().primaryKey(), note: t.string().nullable(), cover: t.image().nullable(), clip: t.audio().nullable() });
    d.compute('caption', openai.vision(d.note, d.cover, { model: 'gpt-4o-mini' }));
    d.compute('summary', openai.chat(d.note, { model: 'gpt-4o-mini' }));
    d.compute('emb', openai.embeddings(d.note, { model: 'text-embedding-3-small' }));
    d.compute('words', openai.transcribe(d.clip, { model: 'whisper-1' }));
    d.compute('claude', anthropic.messages(d.note, { model: 'claude-haiku-4-5' }));
    d.compute('local', localEmbedding(d.note));
  });
  expect(planPipeline(def).tables[0]!.columns.filter((c) => c.computed)).toHaveLength(6);
});

test('a video column is refused where an image is wanted (compile time)', () => {
  // type-level only: tsc fails if the line below ever compiles
  const check = (clip: Expr<'video', string>) => {
    // @ts-expect-error a video is not an image
    return openai.vision('What?', clip, { model: 'm' });
  };
  expect(typeof check).toBe('function');
});
