import OpenAI from 'openai';
import { keyHash, resolveSecret } from '../model/secrets';
import { ConfigError } from '@tessera/core';
import type { ProviderFailure } from '../model/errors';
import { rateKeyOf, type ModelRateKey, type ProviderConnection } from '../model/context';
import { memo } from '../model/identity';
import { jsonFetch } from '../model/http-fetch';

/** How to reach an OpenAI-compatible server (OpenAI, Azure OpenAI, vLLM, Ollama, TEI...). */
export interface OpenAIConnection extends ProviderConnection {
  /** e.g. `http://localhost:11434/v1`; default OPENAI_BASE_URL or the OpenAI API */
  baseURL?: string;
  /** default OPENAI_API_KEY */
  apiKeyEnv?: string;
  /** provider name for rate-limit buckets and the queue (`model:<provider>:<model>`); default `openai` */
  provider?: string;
}

export interface Connected {
  client: OpenAI;
  secret: string | undefined;
  rateKey: ModelRateKey;
}

const clients = new Map<string, OpenAI>();

/**
 * A client per base URL and key, built on first use (so a pipeline can be defined on a host without
 * keys). The SDK's own retries are off: the queue owns retries. Requests go through jsonFetch.
 */
export function connect(conn: OpenAIConnection, model: string): Connected {
  const keyName = conn.apiKeyEnv ?? 'OPENAI_API_KEY';
  const baseURL = conn.baseURL ?? process.env.OPENAI_BASE_URL;
  const secret = resolveSecret(keyName);
  if (!secret && !baseURL) throw new ConfigError(`missing API key: set ${keyName} (or ${keyName}_FILE, or TESSERA_SECRETS_FILE)`);
  const apiKey = secret ?? 'unused'; // local OpenAI-compatible servers often need no key
  const id = `${baseURL ?? ''}\0${keyHash(apiKey)}\0${conn.timeoutMs ?? ''}`;
  const client = memo(
    clients,
    id,
    () => new OpenAI({ apiKey, ...(baseURL ? { baseURL } : {}), maxRetries: 0, timeout: conn.timeoutMs ?? 60_000, fetch: jsonFetch }),
  );
  return { client, secret, rateKey: rateKeyOf(conn.provider ?? 'openai', model, secret, conn.limits) };
}

export function openaiFailure(err: unknown): ProviderFailure {
  if (err instanceof OpenAI.APIConnectionError) return { message: err.message, network: true };
  if (err instanceof OpenAI.APIError) {
    const headers = err.headers;
    return { status: err.status, message: err.message, headers: (n) => headers?.get(n) };
  }
  return { message: err instanceof Error ? err.message : String(err), network: true };
}

export const queueFor = (conn: OpenAIConnection, model: string) => `model:${conn.provider ?? 'openai'}:${model}`;
