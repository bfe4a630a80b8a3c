import { defineUdf, t, type Expr } from '@tessera/core';

/**
 * An offline embedding that needs no model and no network: feature hashing of word unigrams and
 * character 3-grams (with word-boundary marks), sublinear term weights, signed buckets, L2-normalised.
 *
 * What it is: a lexical fingerprint. Texts that share words and word pieces land close (near-duplicates,
 * keyword overlap, spelling variants); synonyms and paraphrases with no shared words do not. It is the
 * default in the example pipelines so they run anywhere; use a real model for semantic search.
 */
export const LOCAL_EMBEDDING_DIM = 384;

function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The features of a text: `w:<word>` and `c:<trigram>` with counts. */
function features(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (f: string, w: number) => counts.set(f, (counts.get(f) ?? 0) + w);
  const words =
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const w of words) {
    add(`w:${w}`, 1);
    const padded = `<${w}>`;
    for (let i = 0; i + 3 <= padded.length; i++) add(`c:${padded.slice(i, i + 3)}`, 0.5);
  }
  return counts;
}

export function localEmbed(text: string, dim = LOCAL_EMBEDDING_DIM): number[] {
  const v = new Float64Array(dim);
  for (const [f, c] of features(text)) {
    const h = fnv1a(f);
    const sign = fnv1a(f, 0x9747b28c) & 1 ? 1 : -1; // a second hash picks the sign, so collisions cancel on average
    v[h % dim]! += sign * (1 + Math.log(c + 1));
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  return Array.from(v, (x) => (norm ? x / norm : 0));
}

/** `localEmbedding(chunks.text)`: a 384-float vector per row, computed on the CPU queue. */
export const localEmbeddingUdf = defineUdf({
  name: 'local.embedding.hashed-ngrams',
  version: '1',
  params: [t.string()] as const,
  returns: t.embedding(LOCAL_EMBEDDING_DIM),
  batch: {
    maxSize: 512,
    fn: async (rows) => rows.map(([text]) => localEmbed(typeof text === 'string' ? text : '')),
  },
});

export function localEmbedding(text: Expr<'string', string | null> | string) {
  return localEmbeddingUdf(text);
}
