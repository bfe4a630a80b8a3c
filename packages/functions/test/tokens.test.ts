import { getEncoding } from 'js-tiktoken';
import { countTokens } from '../src';

/** The offline token count model calls are estimated with (rate limits, embedding batches). */
test('counts as the encoder does for ordinary text, special-token text included as plain text', async () => {
  const text = 'Hello, wörld! naïve café 😀 — 東京\n\n  spaces\tand tabs 1234567';
  expect(await countTokens('text-embedding-3-small', text)).toBe(getEncoding('cl100k_base').encode(text).length);
  // js-tiktoken refuses "<|endoftext|>" by default: a document holding it would fail its cell
  const special = 'before <|endoftext|> after';
  expect(await countTokens('gpt-4o-mini', special)).toBe(getEncoding('o200k_base').encode(special, [], []).length);
});

test('a text made of very long runs is counted in pieces, close to what one encode would give', async () => {
  // one encode of a 3,000-space run takes the encoder about a second (quadratic merges); 50,000 would take minutes
  const sample = `a${' '.repeat(3_000)}b ${'='.repeat(2_000)} c`;
  const exact = getEncoding('cl100k_base').encode(sample, [], []).length;
  const counted = await countTokens('text-embedding-3-small', sample);
  expect(Math.abs(counted - exact)).toBeLessThanOrEqual(Math.ceil(5_000 / 64));
  expect(await countTokens('text-embedding-3-small', ' '.repeat(50_000))).toBeGreaterThan(0);
});
