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
  if (h('anthropic-ratelimit-requests-limit') !== undefined || h('anthropic-ratelimit-tokens-limit') !== undefined) {
    return {
      limitRequests: num(h('anthropic-ratelimit-requests-limit')),
      limitTokens: num(h('anthropic-ratelimit-tokens-limit')),
      remainingRequests: num(h('anthropic-ratelimit-requests-remaining')),
      remainingTokens: num(h('anthropic-ratelimit-tokens-remaining')),
      resetRequestsMs: parseReset(h('anthropic-ratelimit-requests-reset'), nowMs),
      resetTokensMs: parseReset(h('anthropic-ratelimit-tokens-reset'), nowMs),
    };
  }
  return {
    limitRequests: num(h('x-ratelimit-limit-requests')),
    limitTokens: num(h('x-ratelimit-limit-tokens')),
    remainingRequests: num(h('x-ratelimit-remaining-requests')),
    remainingTokens: num(h('x-ratelimit-remaining-tokens')),
    resetRequestsMs: parseReset(h('x-ratelimit-reset-requests'), nowMs),
    resetTokensMs: parseReset(h('x-ratelimit-reset-tokens'), nowMs),
  };
}
