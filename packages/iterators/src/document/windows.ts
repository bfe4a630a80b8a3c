import { boundedRuns } from '@tessera/core';
import { tokenLengths, type Tiktoken } from './tokens';

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
 * Split text into pieces of at most `size` tokens, cut on token boundaries. A cut that would fall
 * inside a character (a CJK character or an emoji can span two tokens) moves back to the previous
 * token boundary that is also a character boundary, and the next piece starts there or later, so no
 * piece carries half a character (U+FFFD) and nothing is lost; the overlap can shrink by a token at
 * such a cut. Text whose token boundaries are all character boundaries (ASCII) is cut exactly as
 * `windowStarts` says.
 */
export function tokenWindows(text: string, encoder: Tiktoken, size: number, overlap: number): string[] {
  // special-token text such as "<|endoftext|>" in a document is plain text, never a control token;
  // encoded in pieces without long runs (see boundedRuns): a run costs the encoder its length squared
  const tokens = boundedRuns(text).flatMap((piece) => encoder.encode(piece, [], []));
  if (tokens.length <= size) return [text];
  const lengths = tokenByteLengths(encoder, tokens);
  if (!lengths) return windowStarts(tokens.length, size, overlap).map((s) => encoder.decode(tokens.slice(s, s + size)));

  const bytes = Buffer.from(text, 'utf8');
  const offsets = new Uint32Array(tokens.length + 1);
  for (let i = 0; i < tokens.length; i++) offsets[i + 1] = offsets[i]! + lengths[i]!;
  // a token boundary is a character boundary unless the byte there continues a UTF-8 sequence
  const atChar = (i: number) => i === 0 || i === tokens.length || (bytes[offsets[i]!]! & 0xc0) !== 0x80;
  const pieces: string[] = [];
  for (let start = 0; ; ) {
    let end = Math.min(start + size, tokens.length);
    while (end > start + 1 && !atChar(end)) end--;
    pieces.push(bytes.subarray(offsets[start]!, offsets[end]!).toString('utf8'));
    if (end >= tokens.length) return pieces;
    let next = Math.max(end - overlap, start + 1);
    while (next < end && !atChar(next)) next++;
    start = next;
  }
}

/** UTF-8 byte length of each token, from encoderFor's length table or the encoder's own decode table; undefined if neither is there. */
function tokenByteLengths(encoder: Tiktoken, tokens: number[]): Uint32Array | undefined {
  const table = tokenLengths(encoder);
  const textMap = (encoder as unknown as { textMap?: Map<number, Uint8Array> }).textMap;
  const out = new Uint32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const n = table ? table[tokens[i]!] : textMap instanceof Map ? textMap.get(tokens[i]!)?.length : undefined;
    if (!n) return undefined;
    out[i] = n;
  }
  return out;
}
