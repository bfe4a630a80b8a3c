const segmenter = new Intl.Segmenter('en', { granularity: 'sentence' });

/**
 * Sentences of a paragraph (Unicode UAX #29 rules via Intl.Segmenter). Line breaks inside a
 * paragraph are wrapping, not sentence ends, so they are read as spaces first.
 */
export function sentencesOf(text: string): string[] {
  const flat = text.replace(/\s*\n\s*/g, ' ');
  const out: string[] = [];
  for (const { segment } of segmenter.segment(flat)) {
    const s = segment.trim();
    if (s) out.push(s);
  }
  return out;
}
