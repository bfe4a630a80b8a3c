import { t, type ExportSchema, type TypeSpec } from '@tessera/core';

/** The export schema most tests use: a key, text, a number, json, a timestamp, media and an embedding. */
export function chunkSchema(dim = 4): ExportSchema {
  const col = (name: string, type: { spec: TypeSpec }) => ({ name, type: type.spec });
  return {
    source: 'chunks',
    key: ['id', 'pos'],
    columns: [
      col('id', t.string().primaryKey()),
      col('pos', t.int().primaryKey()),
      col('text', t.string().nullable()),
      col('score', t.float().nullable()),
      col('meta', t.json().nullable()),
      col('at', t.timestamp().nullable()),
      col('frame', t.image().nullable()),
      col('embedding', t.embedding(dim).nullable()),
    ],
  };
}

export function chunkRows(n: number, opts: { from?: number; dim?: number; tag?: string } = {}) {
  const dim = opts.dim ?? 4;
  return Array.from({ length: n }, (_, i) => {
    const k = (opts.from ?? 0) + i;
    return {
      id: `doc-${k % 3}`,
      pos: k,
      text: `chunk ${k} "quoted" \\ back, comma {brace} ${opts.tag ?? ''}`,
      score: k / 4,
      meta: { k, tags: ['a', "it's"], nested: { ok: true } },
      at: new Date(Date.UTC(2024, 0, 1, 0, 0, k)),
      frame: `s3://media/frames/${k}.png`,
      embedding: Array.from({ length: dim }, (_, j) => (k + j) / 8),
    };
  });
}

export const uniqueName = (prefix: string) => `${prefix}_${process.pid}_${Date.now().toString(36)}`;
