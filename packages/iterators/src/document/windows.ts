import type { Tiktoken } from './tokens';

/** Start offsets of fixed windows of `size` with `overlap` over `n` units: the last window ends at n. */
export function windowStarts(n: number, size: number, overlap: number): number[] {
  if (n <= size) return [0];
  const step = size - overlap;
  const starts: number[] = [];
  for (let s = 0; ; s += step) {
    starts.push(s);
    if (s + size >= n) return starts;
  }
}

/** Split text into pieces of at most `size` characters (code points, so emoji are never cut in half). */
export function charWindows(text: string, size: number, overlap: number): string[] {
  if (!/[\uD800-\uDFFF]/.test(text)) {
    if (text.length <= size) return [text];
    return windowStarts(text.length, size, overlap).map((s) => text.slice(s, s + size));
  }
  const cps = Array.from(text);
  if (cps.length <= size) return [text];
  return windowStarts(cps.length, size, overlap).map((s) => cps.slice(s, s + size).join(''));
}

/**
 * Split text into pieces of at most `size` tokens. Windows are cut on token boundaries; a
 * character whose UTF-8 bytes span two tokens can be cut (decoded as U+FFFD), as with tiktoken.
 */
export function tokenWindows(text: string, encoder: Tiktoken, size: number, overlap: number): string[] {
  // special-token text such as "<|endoftext|>" in a document is plain text, never a control token
  const tokens = encoder.encode(text, [], []);
  if (tokens.length <= size) return [text];
  return windowStarts(tokens.length, size, overlap).map((s) => encoder.decode(tokens.slice(s, s + size)));
}
