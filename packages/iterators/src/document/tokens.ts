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

type Ranks = ConstructorParameters<typeof Tiktoken>[0];
/** js-tiktoken 1.0.21's lookup tables (public fields marked @internal; the version is pinned exactly). */
type Tables = { rankMap: Map<string, number>; textMap: Map<number, Uint8Array> };

/** UTF-8 byte length of each token, by rank, for the encoders built here (see tokenLengths). */
const lengthsOf = new WeakMap<Tiktoken, Uint8Array>();

/**
 * Build the encoder's tables line by line. js-tiktoken's constructor first expands all ~100k
 * ranks into a temporary object, which lifts a worker's peak RSS by ~25 MB (measured: 145 -> 120 MB
 * for cl100k_base) for memory V8 then keeps. Its decode table (100k small Uint8Arrays, ~30 MB) is
 * not built either: splitting needs only each token's byte length, kept in one Uint8Array, and cuts
 * the document's own bytes. Encoding is identical; the tests compare token ids and windows against
 * js-tiktoken's own getEncoding. (Such an encoder cannot decode.)
 */
function leanTiktoken(ranks: Ranks): Tiktoken {
  const enc = new Tiktoken({ ...ranks, bpe_ranks: '' });
  const { rankMap, textMap } = enc as unknown as Tables;
  if (!(rankMap instanceof Map) || !(textMap instanceof Map)) return new Tiktoken(ranks);
  let lengths = new Uint8Array(1 << 17);
  const src = ranks.bpe_ranks;
  for (let i = 0; i < src.length; ) {
    let end = src.indexOf('\n', i);
    if (end < 0) end = src.length;
    const parts = src.slice(i, end).split(' ');
    i = end + 1;
    if (parts.length < 2) continue;
    // a line is: <name> <first rank> <base64 token> <base64 token> ...
    const offset = Number.parseInt(parts[1]!, 10);
    for (let k = 2; k < parts.length; k++) {
      const bytes = Buffer.from(parts[k]!, 'base64');
      const rank = offset + k - 2;
      rankMap.set(bytes.join(','), rank);
      if (rank >= lengths.length) {
        const grown = new Uint8Array(lengths.length * 2);
        grown.set(lengths);
        lengths = grown;
      }
      lengths[rank] = bytes.length;
    }
  }
  lengthsOf.set(enc, lengths);
  return enc;
}

/** The byte length of each token, by rank, of an encoder from encoderFor. */
export function tokenLengths(enc: Tiktoken): Uint8Array | undefined {
  return lengthsOf.get(enc);
}

/** A shared encoder per encoding (building one parses ~100k ranks, so it is done once per process). */
export function encoderFor(encoding: TokenEncoding): Promise<Tiktoken> {
  let e = cache.get(encoding);
  if (!e) {
    e = loaders[encoding]().then((m) => leanTiktoken(m.default));
    cache.set(encoding, e);
  }
  return e;
}

export type { Tiktoken };
