import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SlidingWindow, maxInAnyWindow } from './sliding-window';
import { parseMultipart } from './multipart';
import { countTokens } from './tokens';
import {
  BadRequest,
  anthropicMessagesEndpoint,
  chatEndpoint,
  embeddingsEndpoint,
  geminiGenerateEndpoint,
  imagesEndpoint,
  transcriptionsEndpoint,
  type ApiRequest,
  type Endpoint,
} from './endpoints';

export interface OpenAIServerOptions {
  /** requests per minute the server admits (unlimited when absent) */
  rpm?: number;
  /** tokens per minute (prompt + max output charged at arrival, settled to actual usage) */
  tpm?: number;
  /** RPM (per model) is enforced over this trailing window, pro rata (providers quantize limits); default 1000 ms */
  requestWindowMs?: number;
  /** TPM is enforced over this trailing window; default 60 000 ms */
  tokenWindowMs?: number;
  /**
   * how long an answered request takes, from its arrival: the server's own parsing and token
   * counting happen within it, as a provider's do on its own machines, so a loaded test machine
   * does not add the server's CPU time to the model's latency
   */
  latencyMs?: number;
  /** embedding size when a request gives no `dimensions`; default 1536 */
  embeddingDim?: number;
  /** replace the chat answer (return undefined for the default echo) */
  chatReply?: (req: ApiRequest) => string | undefined;
  /** inputs containing this text are refused with a 400 (a "bad row" for tests) */
  rejectMarker?: string;
  /** API key the server demands (401 otherwise); any when absent */
  apiKey?: string;
}

/** A fault applied to the next matching request. */
export type Fault = { kind: 'status'; status: number; retryAfterS?: number; message?: string } | { kind: 'drop' } | { kind: 'delay'; ms: number };

export interface Arrival {
  t: number;
  path: string;
  status: number;
  /** inputs in the request (embeddings batch size; 1 otherwise) */
  inputs: number;
  tokens: number;
  model?: string;
}

export interface OpenAIServer {
  /** base URL for the OpenAI SDK, ending in /v1 */
  readonly url: string;
  /** the server's origin (Anthropic and Gemini SDKs add their own paths) */
  readonly origin: string;
  readonly port: number;
  /** every request that reached the server, in order */
  readonly arrivals: Arrival[];
  /** queue faults for the next requests whose path contains `pathPart` (all when absent) */
  inject(faults: Fault[], pathPart?: string): void;
  /** most requests (of `model`, or all) that arrived within any `windowMs` (default: the RPM window) */
  maxRequestsInWindow(windowMs?: number, model?: string): number;
  count(status?: number): number;
  /** requests for `model` that were answered (200): the calls a test counts */
  answered(model: string): number;
  reset(): void;
  close(): Promise<void>;
}

const ROUTES: Array<[RegExp, string]> = [
  [/\/chat\/completions$/, 'chat'],
  [/\/embeddings$/, 'embeddings'],
  [/\/audio\/transcriptions$/, 'transcriptions'],
  [/\/images\/generations$/, 'images'],
  [/\/v1\/messages$/, 'messages'],
  [/\/models\/[^/]+:generateContent$/, 'gemini'],
];

/** Start a local OpenAI-compatible server on 127.0.0.1 and a free port. */
export async function startOpenAIServer(opts: OpenAIServerOptions = {}): Promise<OpenAIServer> {
  const reqWindowMs = opts.requestWindowMs ?? 1000;
  const tokWindowMs = opts.tokenWindowMs ?? 60_000;
  // limits are per model, as providers set them
  const windows = new Map<string, { req?: SlidingWindow; tok?: SlidingWindow }>();
  const windowsFor = (model: string) => {
    let w = windows.get(model);
    if (!w) {
      w = {
        ...(opts.rpm ? { req: new SlidingWindow(reqWindowMs, Math.max(1, Math.floor((opts.rpm * reqWindowMs) / 60_000))) } : {}),
        ...(opts.tpm ? { tok: new SlidingWindow(tokWindowMs, Math.max(1, Math.floor((opts.tpm * tokWindowMs) / 60_000))) } : {}),
      };
      windows.set(model, w);
    }
    return w;
  };
  const endpoints: Record<string, Endpoint> = {
    chat: chatEndpoint(opts.chatReply),
    embeddings: embeddingsEndpoint(opts.embeddingDim ?? 1536),
    transcriptions: transcriptionsEndpoint,
    images: imagesEndpoint,
    messages: anthropicMessagesEndpoint,
    gemini: geminiGenerateEndpoint,
  };
  // build the tokenizer now: doing it on the first request would stall the event loop and bunch arrivals
  countTokens('warm up');
  const arrivals: Arrival[] = [];
  let faults: Array<{ fault: Fault; pathPart?: string }> = [];

  const takeFault = (path: string) => {
    const i = faults.findIndex((f) => f.pathPart === undefined || path.includes(f.pathPart));
    return i < 0 ? undefined : faults.splice(i, 1)[0]!.fault;
  };

  /** Rate-limit headers in OpenAI's shape (per-minute limits, Go-style reset durations). */
  const limitHeaders = (model: string, now: number): Record<string, string> => {
    const h: Record<string, string> = {};
    const { req: reqWindow, tok: tokWindow } = windowsFor(model);
    const perMinute = (w: SlidingWindow) => 60_000 / w.windowMs;
    if (reqWindow && opts.rpm) {
      h['x-ratelimit-limit-requests'] = String(opts.rpm);
      h['x-ratelimit-remaining-requests'] = String(Math.max(0, Math.floor((reqWindow.capacity - reqWindow.used(now)) * perMinute(reqWindow))));
      h['x-ratelimit-reset-requests'] = `${reqWindow.waitFor(1, now)}ms`;
    }
    if (tokWindow && opts.tpm) {
      h['x-ratelimit-limit-tokens'] = String(opts.tpm);
      h['x-ratelimit-remaining-tokens'] = String(Math.max(0, Math.floor((tokWindow.capacity - tokWindow.used(now)) * perMinute(tokWindow))));
      h['x-ratelimit-reset-tokens'] = `${(tokWindow.waitFor(1, now) / 1000).toFixed(3)}s`;
    }
    return h;
  };

  /** The same, in Anthropic's shape (`anthropic-ratelimit-*`, resets as RFC 3339 instants), for /v1/messages. */
  const anthropicHeaders = (model: string, now: number): Record<string, string> => {
    const h: Record<string, string> = {};
    const { req: reqWindow, tok: tokWindow } = windowsFor(model);
    const perMinute = (w: SlidingWindow) => 60_000 / w.windowMs;
    const at = (ms: number) => new Date(now + ms).toISOString();
    if (reqWindow && opts.rpm) {
      h['anthropic-ratelimit-requests-limit'] = String(opts.rpm);
      h['anthropic-ratelimit-requests-remaining'] = String(Math.max(0, Math.floor((reqWindow.capacity - reqWindow.used(now)) * perMinute(reqWindow))));
      h['anthropic-ratelimit-requests-reset'] = at(reqWindow.waitFor(1, now));
    }
    if (tokWindow && opts.tpm) {
      h['anthropic-ratelimit-tokens-limit'] = String(opts.tpm);
      h['anthropic-ratelimit-tokens-remaining'] = String(Math.max(0, Math.floor((tokWindow.capacity - tokWindow.used(now)) * perMinute(tokWindow))));
      h['anthropic-ratelimit-tokens-reset'] = at(tokWindow.waitFor(1, now));
    }
    return h;
  };
  const headersFor = (route: string, model: string, now: number) => (route === 'messages' ? anthropicHeaders(model, now) : limitHeaders(model, now));

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const apiError = (message: string, type: string, code: string | null = null) => ({ error: { message, type, param: null, code } });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const now = Date.now();
    const path = (req.url ?? '/').split('?')[0]!;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const arrival: Arrival = { t: now, path, status: 0, inputs: 1, tokens: 0 };
    arrivals.push(arrival);

    const route = ROUTES.find(([re]) => re.test(path))?.[1];
    if (!route) return send(res, (arrival.status = 404), apiError(`no route ${path}`, 'invalid_request_error'));
    const key = (req.headers.authorization ?? '').replace(/^Bearer /, '') || String(req.headers['x-api-key'] ?? req.headers['x-goog-api-key'] ?? '');
    if (opts.apiKey !== undefined && key !== opts.apiKey) {
      return send(res, (arrival.status = 401), apiError('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'));
    }

    const fault = takeFault(path);
    if (fault?.kind === 'drop') {
      arrival.status = -1;
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      const headers: Record<string, string> = fault.retryAfterS === undefined ? {} : { 'retry-after': String(fault.retryAfterS) };
      return send(res, (arrival.status = fault.status), apiError(fault.message ?? `injected ${fault.status}`, 'server_error'), headers);
    }

    let apiReq: ApiRequest;
    let estimate: number;
    const endpoint = endpoints[route]!;
    try {
      const ctype = String(req.headers['content-type'] ?? '');
      apiReq = ctype.startsWith('multipart/form-data')
        ? { path, json: {}, parts: parseMultipart(raw, ctype) }
        : { path, json: JSON.parse(raw.toString('utf8') || '{}'), parts: [] };
      if (route === 'transcriptions') apiReq.json = Object.fromEntries(apiReq.parts.filter((p) => !p.filename).map((p) => [p.name, p.data.toString()]));
      if (opts.rejectMarker && JSON.stringify(apiReq.json).includes(opts.rejectMarker)) throw new Error(`input contains ${opts.rejectMarker}`);
      estimate = endpoint.estimate(apiReq);
      if (route === 'embeddings') arrival.inputs = Array.isArray(apiReq.json.input) ? apiReq.json.input.length : 1;
    } catch (err) {
      return send(res, (arrival.status = 400), apiError(err instanceof Error ? err.message : 'bad request', 'invalid_request_error'));
    }

    // the server's own limits: refuse with 429 and retry-after, like the real API
    const model = String(apiReq.json.model ?? path.match(/models\/([^/:]+):/)?.[1] ?? '');
    arrival.model = model;
    const { req: reqWindow, tok: tokWindow } = windowsFor(model);
    const waitR = reqWindow?.waitFor(1, now) ?? 0;
    const waitT = tokWindow?.waitFor(estimate, now) ?? 0;
    if (waitR > 0 || waitT > 0) {
      const wait = Math.max(waitR, waitT);
      const which = waitR > 0 ? 'requests' : 'tokens';
      return send(res, (arrival.status = 429), apiError(`Rate limit reached for ${which}. Please try again in ${wait}ms.`, which, 'rate_limit_exceeded'), {
        ...headersFor(route, model, now),
        'retry-after': String(Math.ceil(wait / 1000)),
        'retry-after-ms': String(wait),
      });
    }
    reqWindow?.add(1, now);
    const charge = tokWindow?.add(estimate, now);

    let out: ReturnType<typeof endpoint.respond> | undefined;
    let failure: unknown;
    try {
      out = endpoint.respond(apiReq);
    } catch (err) {
      failure = err;
    }
    const left = (opts.latencyMs ?? 0) + (fault?.kind === 'delay' ? fault.ms : 0) - (Date.now() - now);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    if (out) {
      if (charge) charge.w = out.tokens; // settle the charge to what was used
      arrival.tokens = out.tokens;
      send(res, (arrival.status = 200), out.body, headersFor(route, model, Date.now()));
    } else {
      if (charge) charge.w = 0;
      send(
        res,
        (arrival.status = failure instanceof BadRequest ? 400 : 500),
        apiError(failure instanceof Error ? failure.message : 'error', 'invalid_request_error'),
      );
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, apiError('internal error', 'server_error'));
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    origin: `http://127.0.0.1:${port}`,
    port,
    arrivals,
    inject(fs, pathPart) {
      faults.push(...fs.map((fault) => ({ fault, ...(pathPart === undefined ? {} : { pathPart }) })));
    },
    maxRequestsInWindow(windowMs = reqWindowMs, model) {
      return maxInAnyWindow(
        arrivals.filter((a) => model === undefined || a.model === model).map((a) => a.t),
        windowMs,
      );
    },
    count(status) {
      return status === undefined ? arrivals.length : arrivals.filter((a) => a.status === status).length;
    },
    answered(model) {
      return arrivals.filter((a) => a.model === model && a.status === 200).length;
    },
    reset() {
      arrivals.length = 0;
      faults = [];
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
