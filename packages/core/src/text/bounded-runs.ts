/** The longest run of one kind of character a piece holds (see boundedRuns). */
const MAX_RUN = 64;
/** Runs longer than MAX_RUN of whitespace, letters, digits or other symbols (counted in code points). */
const LONG_RUN = /\s{65,}|\p{L}{65,}|\p{N}{65,}|[^\s\p{L}\p{N}]{65,}/gu;

/**
 * Text cut into consecutive pieces in which no run of whitespace, letters, digits or other symbols
 * is longer than 64 characters, for a BPE tokenizer to encode piece by piece. js-tiktoken merges
 * each run of one kind in time quadratic in its length (4,000 spaces took 1.5 s, a Markdown table
 * padded with spaces 22 s for 190 KB), so a document built to have one long run could hold a worker
 * for hours. Text without such a run is one piece and encodes exactly as before; a long run is cut
 * every 64 characters (never inside a surrogate pair), which only moves a few token boundaries
 * within it.
 */
export function boundedRuns(text: string): string[] {
  const pieces: string[] = [];
  let from = 0;
  for (const m of text.matchAll(LONG_RUN)) {
    if (m.index > from) pieces.push(text.slice(from, m.index));
    const run = m[0];
    for (let i = 0; i < run.length; ) {
      let end = Math.min(i + MAX_RUN, run.length);
      // a low surrogate ends the pair it belongs to: the cut goes after it
      const c = run.charCodeAt(end);
      if (end < run.length && c >= 0xdc00 && c <= 0xdfff) end++;
      pieces.push(run.slice(i, end));
      i = end;
    }
    from = m.index + run.length;
  }
  if (from < text.length) pieces.push(text.slice(from));
  return pieces;
}
