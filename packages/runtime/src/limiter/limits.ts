import { ConfigError } from '@tessera/core';

/** Limits for one provider + model. Per minute, like the providers state them; absent = not limited. */
export interface ModelLimits {
  rpm?: number;
  tpm?: number;
  maxConcurrency?: number;
}

/**
 * Limits by `provider:model`, with `provider:*` and `*` as fallbacks, e.g.
 * `{ "openai:gpt-4o-mini": { "rpm": 500, "tpm": 200000 }, "openai:*": { "rpm": 3000 } }`.
 */
export type LimitTable = Record<string, ModelLimits>;

/** The environment variable holding a JSON LimitTable; it overrides limits set in code. */
export const RATE_LIMITS_ENV = 'TESSERA_RATE_LIMITS';

export function parseLimitTable(json: string, source = RATE_LIMITS_ENV): LimitTable {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new ConfigError(`${source}: not valid JSON (expected {"provider:model": {"rpm": n, "tpm": n, "maxConcurrency": n}})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${source}: expected a JSON object`);
  const table: LimitTable = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${source}: ${key}: expected an object`);
    const limits: ModelLimits = {};
    for (const [field, v] of Object.entries(value as Record<string, unknown>)) {
      if (field !== 'rpm' && field !== 'tpm' && field !== 'maxConcurrency') {
        throw new ConfigError(`${source}: ${key}.${field}: unknown field (use rpm, tpm, maxConcurrency)`);
      }
      if (typeof v !== 'number' || !(v > 0) || (field === 'maxConcurrency' && !Number.isInteger(v))) {
        throw new ConfigError(`${source}: ${key}.${field}: expected a positive number`);
      }
      limits[field] = v;
    }
    table[key] = limits;
  }
  return table;
}

export function limitTableFromEnv(env: Record<string, string | undefined> = process.env): LimitTable {
  const v = env[RATE_LIMITS_ENV];
  return v && v.trim() ? parseLimitTable(v) : {};
}

/** The entries that apply, most specific first: `provider:model`, `provider:*`, `*` (each field falls through). */
export function lookupLimits(table: LimitTable, provider: string, model: string): Array<ModelLimits | undefined> {
  return [table[`${provider}:${model}`], table[`${provider}:*`], table['*']];
}

/**
 * Resolve the limits for a bucket: environment first (operators tune without a deploy), then the
 * limits the pipeline attached to the call, then the gate's defaults in code.
 */
export function resolveLimits(layers: Array<ModelLimits | undefined>): Required<{ [K in keyof ModelLimits]: number }> {
  const pick = (k: keyof ModelLimits) => layers.find((l) => l?.[k] !== undefined)?.[k] ?? 0;
  return { rpm: pick('rpm'), tpm: pick('tpm'), maxConcurrency: pick('maxConcurrency') };
}
