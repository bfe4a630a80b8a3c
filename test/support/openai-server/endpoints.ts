import { createHash } from 'node:crypto';
import { countTokens, truncateTokens } from './tokens';
import { deterministicEmbedding } from './vectors';
import { solidPng } from './png';
import type { Part } from './multipart';

/** A parsed request as the endpoints see it. */
export interface ApiRequest {
  path: string;
  json: any;
  parts: Part[];
}

/** Bad input: answered with a 400 like the real API. */
export class BadRequest extends Error {}

export interface Endpoint {
  /** tokens charged at arrival (prompt + max output), as providers count against TPM */
  estimate(req: ApiRequest): number;
  /** the response body and the tokens actually used */
  respond(req: ApiRequest): { body: unknown; tokens: number };
}

/** What a chat request carries: its text and images. */
function readMessages(messages: unknown): { text: string; lastUser: string; images: string[]; count: number } {
  if (!Array.isArray(messages) || messages.length === 0) throw new BadRequest('messages must be a non-empty array');
  let text = '';
  let lastUser = '';
  const images: string[] = [];
  for (const m of messages as Array<{ role?: string; content?: unknown }>) {
    let own = '';
    if (typeof m.content === 'string') own = m.content;
    else if (Array.isArray(m.content)) {
      for (const p of m.content as Array<Record<string, any>>) {
        if (p.type === 'text') own += p.text ?? '';
        else if (p.type === 'image_url') images.push(String(p.image_url?.url ?? ''));
      }
    } else throw new BadRequest('message content must be a string or an array of parts');
    text += own + '\n';
    if (m.role === 'user') lastUser = own;
  }
  return { text, lastUser, images, count: messages.length };
}

/** Describe an image data URL the way a test can check: mime, size, hash. */
function describeImage(url: string): string {
  const m = /^data:([^;]+);base64,(.*)$/s.exec(url);
  if (!m) throw new BadRequest('image_url must be a data URL in this test server');
  const bytes = Buffer.from(m[2]!, 'base64');
  if (bytes.length === 0) throw new BadRequest('empty image');
  return `[image ${m[1]} ${bytes.length} bytes sha256:${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}]`;
}

const IMAGE_TOKENS = 85;
const promptTokens = (r: ReturnType<typeof readMessages>) => countTokens(r.text) + 3 * r.count + 3 + IMAGE_TOKENS * r.images.length;

/** An instance of a JSON schema: the server's "structured output". */
function instanceOf(schema: any, hint: string): unknown {
  if (!schema || typeof schema !== 'object') return null;
  if (schema.enum) return schema.enum[0];
  if (schema.const !== undefined) return schema.const;
  if (schema.anyOf) return instanceOf(schema.anyOf[0], hint);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(schema.properties ?? {})) out[k] = instanceOf(v, hint);
      return out;
    }
    case 'array':
      return [instanceOf(schema.items, hint)];
    case 'string':
      return hint;
    case 'integer':
      return hint.length;
    case 'number':
      return hint.length / 2;
    case 'boolean':
      return true;
    default:
      return null;
  }
}

export function chatEndpoint(reply?: (req: ApiRequest) => string | undefined): Endpoint {
  return {
    estimate(req) {
      const r = readMessages(req.json.messages);
      return promptTokens(r) + Number(req.json.max_completion_tokens ?? req.json.max_tokens ?? 256);
    },
    respond(req) {
      const r = readMessages(req.json.messages);
      const maxOut = Number(req.json.max_completion_tokens ?? req.json.max_tokens ?? 256);
      const fmt = req.json.response_format;
      let content: string;
      const custom = reply?.(req);
      if (custom !== undefined) content = custom;
      else if (fmt?.type === 'json_schema') content = JSON.stringify(instanceOf(fmt.json_schema?.schema, r.lastUser.slice(0, 40)));
      else if (fmt?.type === 'json_object') content = JSON.stringify({ echo: r.lastUser });
      else content = truncateTokens(`Echo: ${[...r.images.map(describeImage), r.lastUser].join(' ')}`, maxOut);
      const pt = promptTokens(r);
      const ct = countTokens(content);
      return {
        tokens: pt + ct,
        body: {
          id: `chatcmpl-${createHash('sha1').update(content).digest('hex').slice(0, 12)}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: req.json.model,
          choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage: { prompt_tokens: pt, completion_tokens: ct, total_tokens: pt + ct },
        },
      };
    },
  };
}

function embeddingInputs(input: unknown): string[] {
  const list = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(list) || list.length === 0) throw new BadRequest("'input' must be a string or a non-empty array of strings");
  if (list.length > 2048) throw new BadRequest("'input' may hold at most 2048 items");
  for (const s of list) if (typeof s !== 'string' || s.length === 0) throw new BadRequest("'input' items must be non-empty strings");
  return list as string[];
}

export function embeddingsEndpoint(defaultDim: number): Endpoint {
  return {
    estimate: (req) => embeddingInputs(req.json.input).reduce((s, t) => s + countTokens(t), 0),
    respond(req) {
      const inputs = embeddingInputs(req.json.input);
      const dim = Number(req.json.dimensions ?? defaultDim);
      const tokens = inputs.reduce((s, t) => s + countTokens(t), 0);
      const data = inputs.map((text, index) => {
        const v = deterministicEmbedding(text, dim, String(req.json.model));
        const embedding = req.json.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v;
        return { object: 'embedding', index, embedding };
      });
      return { tokens, body: { object: 'list', model: req.json.model, data, usage: { prompt_tokens: tokens, total_tokens: tokens } } };
    },
  };
}

/** Seconds of audio in a PCM WAV file, when it is one. */
function wavSeconds(b: Buffer): number | undefined {
  if (b.length < 44 || b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') return undefined;
  let off = 12;
  let byteRate = 0;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') byteRate = b.readUInt32LE(off + 16);
    if (id === 'data' && byteRate) return Math.min(size, b.length - off - 8) / byteRate;
    off += 8 + size + (size % 2);
  }
  return undefined;
}

export const transcriptionsEndpoint: Endpoint = {
  estimate: () => 0,
  respond(req) {
    const file = req.parts.find((p) => p.name === 'file');
    if (!file || file.data.length === 0) throw new BadRequest('file is required');
    const secs = wavSeconds(file.data);
    const text = `transcript of ${file.filename ?? 'audio'}: ${file.data.length} bytes${secs === undefined ? '' : `, ${secs.toFixed(2)} s`}`;
    return { tokens: 0, body: { text } };
  },
};

export const imagesEndpoint: Endpoint = {
  estimate: () => 0,
  respond(req) {
    const prompt = req.json.prompt;
    if (typeof prompt !== 'string' || !prompt) throw new BadRequest('prompt is required');
    const h = createHash('sha256').update(prompt).digest();
    const png = solidPng(8, 8, [h[0]!, h[1]!, h[2]!]);
    const n = Number(req.json.n ?? 1);
    return {
      tokens: 0,
      body: { created: Math.floor(Date.now() / 1000), data: Array.from({ length: n }, () => ({ b64_json: png.toString('base64') })) },
    };
  },
};

/** Anthropic's /v1/messages, enough for the SDK. */
export const anthropicMessagesEndpoint: Endpoint = {
  estimate(req) {
    const r = readMessages(req.json.messages);
    return promptTokens(r) + countTokens(String(req.json.system ?? '')) + Number(req.json.max_tokens ?? 0);
  },
  respond(req) {
    const r = readMessages(req.json.messages);
    const text = truncateTokens(`Echo: ${r.lastUser}`, Number(req.json.max_tokens ?? 256));
    const input = promptTokens(r) + countTokens(String(req.json.system ?? ''));
    const output = countTokens(text);
    return {
      tokens: input + output,
      body: {
        id: `msg_${createHash('sha1').update(text).digest('hex').slice(0, 12)}`,
        type: 'message',
        role: 'assistant',
        model: req.json.model,
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: input, output_tokens: output },
      },
    };
  },
};

/** Gemini's models/{model}:generateContent, enough for @google/genai. */
export const geminiGenerateEndpoint: Endpoint = {
  estimate(req) {
    return countTokens(geminiText(req.json)) + Number(req.json.generationConfig?.maxOutputTokens ?? 256);
  },
  respond(req) {
    const prompt = geminiText(req.json);
    const text = truncateTokens(`Echo: ${prompt}`, Number(req.json.generationConfig?.maxOutputTokens ?? 256));
    const pt = countTokens(prompt);
    const ct = countTokens(text);
    return {
      tokens: pt + ct,
      body: {
        candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: pt, candidatesTokenCount: ct, totalTokenCount: pt + ct },
        modelVersion: req.path.split('/').pop()?.split(':')[0],
      },
    };
  },
};

function geminiText(json: any): string {
  const contents = json?.contents;
  if (!Array.isArray(contents) || contents.length === 0) throw new BadRequest('contents must be a non-empty array');
  return contents.flatMap((c: any) => (c.parts ?? []).map((p: any) => p.text ?? '')).join('\n');
}
