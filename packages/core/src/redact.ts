/**
 * The one redaction for text that may reach a message, a log, a cell's error or a sink's name:
 * connection URLs, media references (presigned URLs), and provider error bodies.
 *
 * - secrets the caller holds (an API key) -> `[redacted]`
 * - URL credentials: `scheme://user:password@host` -> `scheme://***@host` (also `user:password@host`)
 * - URL query strings, which carry presigned signatures and tokens: `...?X-Amz-Signature=...` -> `...?…`
 * - `key=value` / `key: value` pairs named like a secret (password, token, api_key, signature...) -> `key=[redacted]`
 * - bearer and basic credentials: `Bearer abc` -> `Bearer [redacted]`
 * - values shaped like provider keys (OpenAI `sk-`, Anthropic `sk-ant-`, Google `AIza`, AWS `AKIA`) -> `[redacted]`
 */
export interface RedactOptions {
  /** secrets to remove wherever they appear (shorter than 4 characters: ignored, they would match anywhere) */
  secrets?: ReadonlyArray<string | undefined>;
  /** cut longer text to this many characters, ending in `...` */
  maxLength?: number;
}

const MASK = '[redacted]';
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi;
const BARE_USERINFO = /(^|[\s(<"'=])[^\s:/@()<>"'=]+:[^\s/@()<>"']+@(?=[^\s@])/g;
const URL_QUERY = /\b([a-z][a-z0-9+.-]*:\/\/[^\s?#"'<>]*)\?([^\s"'<>]*)/gi; // punctuation ending it is the sentence's
const SECRET_PAIR =
  /\b((?:[a-z0-9_-]*[_-])?(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|signature|sig|credential|auth))(["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&,;"']+)/gi;
const AUTH_SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{4,}/g;
const PROVIDER_KEY = /\b(sk-ant-[A-Za-z0-9_-]{6,}|sk-[A-Za-z0-9_-]{6,}|AIza[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16})/g;

export function redact(text: string, opts: RedactOptions = {}): string {
  let out = String(text);
  for (const s of opts.secrets ?? []) if (s && s.length >= 4) out = out.split(s).join(MASK);
  out = out
    .replace(URL_USERINFO, '$1***@')
    .replace(BARE_USERINFO, '$1***@')
    .replace(URL_QUERY, (_, url: string, query: string) => `${url}?…${/[:,.;)]*$/.exec(query)![0]}`)
    .replace(SECRET_PAIR, (_, key: string, sep: string) => `${key}${sep}${MASK}`)
    .replace(AUTH_SCHEME, `$1 ${MASK}`)
    .replace(PROVIDER_KEY, MASK);
  const max = opts.maxLength;
  return max !== undefined && out.length > max ? `${out.slice(0, Math.max(0, max - 3))}...` : out;
}
