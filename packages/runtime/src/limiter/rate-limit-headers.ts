/** Limits a provider reported in its response headers; -1 where a header was absent. */
export interface LearnedLimits {
  limitRequests: number;
  limitTokens: number;
  remainingRequests: number;
  remainingTokens: number;
  resetRequestsMs: number;
  resetTokensMs: number;
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };

/** Go-style durations as OpenAI sends them: `1m33.792s`, `857ms`, `6m0s`, `20s`, or bare seconds. */
export function parseGoDuration(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched += m[0].length;
  }
  return matched === s.length && matched > 0 ? total : undefined;
}

/** A reset given as a duration (OpenAI) or an RFC 3339 instant (Anthropic). */
function parseReset(v: string | undefined, nowMs: number): number {
  if (!v) return -1;
  const d = parseGoDuration(v);
  if (d !== undefined) return d;
  const at = Date.parse(v);
  return Number.isNaN(at) ? -1 : Math.max(0, at - nowMs);
}

const num = (v: string | undefined) => {
  if (v === undefined || v.trim() === '') return -1;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : -1;
};

/** Read `x-ratelimit-*` (OpenAI and compatible servers) or `anthropic-ratelimit-*` headers. */
export function parseRateLimitHeaders(headers: Record<string, string | undefined>, nowMs = Date.now()): LearnedLimits {
  const h = (name: string) => headers[name] ?? headers[name.toLowerCase()];
  const anthropic = h('anthropic-ratelimit-requests-limit') !== undefined || h('anthropic-ratelimit-tokens-limit') !== undefined;
  // the same six numbers under two spellings: anthropic-ratelimit-requests-limit, x-ratelimit-limit-requests
  const get = (what: 'limit' | 'remaining' | 'reset', of: 'requests' | 'tokens') =>
    h(anthropic ? `anthropic-ratelimit-${of}-${what}` : `x-ratelimit-${what}-${of}`);
  return {
    limitRequests: num(get('limit', 'requests')),
    limitTokens: num(get('limit', 'tokens')),
    remainingRequests: num(get('remaining', 'requests')),
    remainingTokens: num(get('remaining', 'tokens')),
    resetRequestsMs: parseReset(get('reset', 'requests'), nowMs),
    resetTokensMs: parseReset(get('reset', 'tokens'), nowMs),
  };
}
