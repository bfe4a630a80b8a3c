import { Tiktoken } from 'js-tiktoken/lite';

export const TOKEN_ENCODINGS = ['cl100k_base', 'o200k_base', 'p50k_base', 'p50k_edit', 'r50k_base', 'gpt2'] as const;
export type TokenEncoding = (typeof TOKEN_ENCODINGS)[number];

// ranks ship inside js-tiktoken: loaded from disk on first use, never from the network
const loaders: Record<TokenEncoding, () => Promise<{ default: ConstructorParameters<typeof Tiktoken>[0] }>> = {
  cl100k_base: () => import('js-tiktoken/ranks/cl100k_base'),
  o200k_base: () => import('js-tiktoken/ranks/o200k_base'),
  p50k_base: () => import('js-tiktoken/ranks/p50k_base'),
  p50k_edit: () => import('js-tiktoken/ranks/p50k_edit'),
  r50k_base: () => import('js-tiktoken/ranks/r50k_base'),
  gpt2: () => import('js-tiktoken/ranks/gpt2'),
};

const cache = new Map<TokenEncoding, Promise<Tiktoken>>();

/** A shared encoder per encoding (building one parses ~100k ranks, so it is done once per process). */
export function encoderFor(encoding: TokenEncoding): Promise<Tiktoken> {
  let e = cache.get(encoding);
  if (!e) {
    e = loaders[encoding]().then((m) => new Tiktoken(m.default));
    cache.set(encoding, e);
  }
  return e;
}

export type { Tiktoken };
