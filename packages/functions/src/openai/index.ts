import { chat } from './chat';
import { vision } from './vision';
import { structured } from './structured';
import { embeddings } from './embeddings';
import { transcribe } from './transcription';
import { generateImage } from './images';

/** OpenAI and OpenAI-compatible servers, as column expressions: `openai.chat(col, { model })`. */
export const openai = { chat, vision, structured, embeddings, transcribe, generateImage };

export { chatUdf, type ChatOptions } from './chat';
export { visionUdf, type VisionOptions } from './vision';
export { structuredUdf, type StructuredOptions } from './structured';
export { embeddingsUdf, type EmbeddingOptions } from './embeddings';
export { transcriptionUdf, type TranscriptionOptions } from './transcription';
export { imageGenerationUdf, type ImageGenerationOptions } from './images';
export type { OpenAIConnection } from './connection';
