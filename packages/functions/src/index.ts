/**
 * @tessera/functions: built-in UDFs. Model calls go through the fleet's rate gate (ctx.rateGate),
 * report usage (ctx.usage), and never repeat a call whose exact inputs were already answered.
 */
export { openai } from './openai';
export * from './openai';
export { anthropic, anthropicMessagesUdf, type AnthropicOptions } from './anthropic/messages';
export { gemini, geminiGenerateUdf, type GeminiOptions } from './gemini/generate';
export { localEmbedding, localEmbeddingUdf, localEmbed, LOCAL_EMBEDDING_DIM } from './local-embedding';
export * from './builtins/string-json';

export { MemoryResponseCache, setDefaultResponseCache, stableHash, type ResponseCache } from './model/cache';
export type { ModelUdfContext, ModelLimits, ModelRateKey, UsageCounter, CacheOption, ProviderConnection, PromptOptions } from './model/context';
export { ProviderRateLimitError, parseRetryAfter } from './model/errors';
export { resolveSecret, keyHash } from './model/secrets';
export { countTokens, encodingFor } from './model/tokens';
export { imageColorStats, colorHistogram, COLOR_HISTOGRAM_DIM, type ColorStats } from './image/color-features';
