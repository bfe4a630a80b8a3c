/** Deterministic text for fleet tests and the bench: row i always reads the same. */
const WORDS = (
  'the a of to and in is for on with as by at from data model pipeline video audio image frame chunk ' +
  'document table column vector index query latency budget token request limit worker queue fleet ' +
  'redis postgres export storage customer invoice report summary search retrieval embedding section ' +
  'heading paragraph sentence page metadata version error retry backoff schedule window minute second'
).split(' ');

export function sentence(seed: number, words: number): string {
  let s = (seed * 2654435761) >>> 0;
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(WORDS[s % WORDS.length]!);
  }
  return out.join(' ');
}

/** A text chunk to embed (about 25-35 tokens). */
export const chunkText = (i: number) => `chunk ${i}: ${sentence(i, 24 + (i % 8))}`;
/** A row to summarise by chat (about 40-60 tokens). */
export const rowText = (i: number) => `row ${i}: ${sentence(100_000 + i, 36 + (i % 16))}`;
