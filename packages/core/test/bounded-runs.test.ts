import { boundedRuns } from '../src/index';

/** The longest run of one kind of character in `s` (whitespace, letters, digits, other). */
function longestRun(s: string): number {
  let longest = 0;
  for (const m of s.matchAll(/\s+|\p{L}+|\p{N}+|[^\s\p{L}\p{N}]+/gu)) longest = Math.max(longest, Array.from(m[0]).length);
  return longest;
}

test('text without a long run is one piece, as it was', () => {
  const text = 'Hello, wörld! naïve café 😀 — 東京 <|endoftext|>\n\n  spaces\tand tabs 1234567';
  expect(boundedRuns(text)).toEqual([text]);
  expect(boundedRuns('')).toEqual([]); // nothing to encode
});

test('long runs of each kind are cut into pieces of at most 64 characters that join back to the text', () => {
  const text = `| name${' '.repeat(5000)}| ${'-'.repeat(3000)} |\n${'a'.repeat(700)} ${'7'.repeat(300)} end`;
  const pieces = boundedRuns(text);
  expect(pieces.join('')).toBe(text);
  expect(pieces.length).toBeGreaterThan(100);
  for (const p of pieces) expect(longestRun(p)).toBeLessThanOrEqual(64);
  // what lies between the runs stays whole
  expect(pieces[0]).toBe('| name');
  expect(pieces.at(-1)).toBe(' end');
});

test('a run of letters outside the BMP is never cut inside a surrogate pair', () => {
  // U+1D49C, a letter written as two UTF-16 units, after one that is one unit: a cut every 64 units would fall inside a pair
  const text = `a${'𝒜'.repeat(200)}`;
  const pieces = boundedRuns(text);
  expect(pieces.join('')).toBe(text);
  for (const p of pieces) {
    expect(p).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    expect(Array.from(p).length).toBeLessThanOrEqual(65);
  }
});
