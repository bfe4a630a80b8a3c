export { startOpenAIServer, type OpenAIServer, type OpenAIServerOptions, type Fault, type Arrival } from './server';
export { deterministicEmbedding } from './vectors';
export { maxInAnyWindow } from './sliding-window';
export { countTokens } from './tokens';
