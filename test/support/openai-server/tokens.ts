import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';

/** The server counts tokens with cl100k_base, as a stand-in for a provider's own tokenizer. */
let enc: Tiktoken | undefined;
export function countTokens(text: string): number {
  enc ??= new Tiktoken(cl100k);
  return text ? enc.encode(text).length : 0;
}

/** The first `n` tokens of `text`. */
export function truncateTokens(text: string, n: number): string {
  enc ??= new Tiktoken(cl100k);
  const ids = enc.encode(text);
  return ids.length <= n ? text : enc.decode(ids.slice(0, n));
}
