import { boundedRuns } from '@tessera/core';
import { Tiktoken } from 'js-tiktoken/lite';

type EncodingName = 'o200k_base' | 'cl100k_base';
const encoders = new Map<EncodingName, Promise<Tiktoken>>();

/** Load a tokenizer's ranks only when first needed (each is megabytes of JS). */
function encoder(name: EncodingName): Promise<Tiktoken> {
  let e = encoders.get(name);
  if (!e) {
    e = (name === 'o200k_base' ? import('js-tiktoken/ranks/o200k_base') : import('js-tiktoken/ranks/cl100k_base')).then((m) => new Tiktoken(m.default));
    encoders.set(name, e);
  }
  return e;
}

/** OpenAI's newer models use o200k_base; everything else is estimated with cl100k_base. */
export function encodingFor(model: string): EncodingName {
  return /^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o)/.test(model) ? 'o200k_base' : 'cl100k_base';
}

/**
 * Tokens in `text`, counted offline (an estimate for providers with other tokenizers). Special-token
 * text such as "<|endoftext|>" counts as the plain text it is (js-tiktoken refuses it by default),
 * and the text is encoded in pieces without long runs (see boundedRuns).
 */
export async function countTokens(model: string, text: string): Promise<number> {
  if (!text) return 0;
  const enc = await encoder(encodingFor(model));
  let n = 0;
  for (const piece of boundedRuns(text)) n += enc.encode(piece, [], []).length;
  return n;
}

/** Chat messages cost their text plus a few tokens of framing each. */
export async function countChatTokens(model: string, texts: string[]): Promise<number> {
  let n = 3;
  for (const t of texts) n += 3 + (await countTokens(model, t));
  return n;
}
