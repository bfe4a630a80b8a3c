import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { ConfigError } from '@tessera/core';

/**
 * API keys come from the environment (`OPENAI_API_KEY`), a file named by `<NAME>_FILE` (Docker and
 * Kubernetes secrets), or a JSON secrets file named by `TESSERA_SECRETS_FILE` (`{"OPENAI_API_KEY": "..."}`).
 * Only the variable's name ever travels in pipeline definitions or job data.
 */
export function resolveSecret(name: string, env: Record<string, string | undefined> = process.env): string | undefined {
  const direct = env[name];
  if (direct) return direct.trim();
  const file = env[`${name}_FILE`];
  if (file) return readSecretFile(file, `${name}_FILE`).trim();
  const bag = env.TESSERA_SECRETS_FILE;
  if (bag) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readSecretFile(bag, 'TESSERA_SECRETS_FILE'));
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError('TESSERA_SECRETS_FILE: not a JSON object of name -> secret');
    }
    const v = (parsed as Record<string, unknown>)?.[name];
    if (typeof v === 'string' && v) return v.trim();
  }
  return undefined;
}

function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(`${what}: cannot read the secrets file it names`);
  }
}

export function requireSecret(name: string, env?: Record<string, string | undefined>): string {
  const v = resolveSecret(name, env);
  if (!v) throw new ConfigError(`missing API key: set ${name} (or ${name}_FILE, or TESSERA_SECRETS_FILE)`);
  return v;
}

/** A short hash of a key: buckets are per key, and the key itself is never stored. */
export function keyHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 12);
}
