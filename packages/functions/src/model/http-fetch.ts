import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

// One keep-alive pool per process and protocol, as undici keeps for the global fetch. A server
// closes an idle connection after its keep-alive timeout (Node's 5 s), and a request written to
// it at that moment fails with ECONNRESET before the server has read it: a transient failure that
// sends the job back to its queue, with a limiter slot spent on a request the provider never saw.
// Node's agent closes idle sockets a second before the timeout the server announces
// (`Keep-Alive: timeout=N`), but only when the agent has a timeout of its own: without one the hint
// is ignored and an idle socket is kept until the server closes it. 30 s is the longest a socket
// stays idle when the server announces nothing; a request in flight is not cut by it.
const KEEP_ALIVE = { keepAlive: true, timeout: 30_000 };
const agents = { 'http:': new http.Agent(KEEP_ALIVE), 'https:': new https.Agent(KEEP_ALIVE) };
const decoders: Record<string, (b: Buffer) => Promise<Buffer>> = {
  gzip: promisify(zlib.gunzip),
  'x-gzip': promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
};

/**
 * `fetch` for the model SDKs' JSON requests, on node:http(s). A model job's cells wait for its
 * slowest call, and every call's client CPU is on that path: the global fetch (undici, with web
 * streams) costs a worker about twice what a plain request does per call, which the fleet pays on
 * every one of millions of calls and which grows under load. Requests whose body is not a string
 * (uploads: multipart forms, streams) go to the global fetch. The response body is read whole,
 * as the SDKs read it (streamed answers are not used here), and decompressed.
 */
export const jsonFetch: typeof fetch = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const body = init?.body;
  const agent = agents[url.protocol as keyof typeof agents];
  if (input instanceof Request || !agent || (body != null && typeof body !== 'string')) return fetch(input, init);
  const headers: Record<string, string> = { 'accept-encoding': 'gzip, deflate, br' };
  new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
  if (body != null) headers['content-length'] = String(Buffer.byteLength(body));
  const signal = init?.signal ?? undefined;
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(
      url,
      { method: init?.method ?? 'GET', headers, agent, ...(signal ? { signal } : {}) },
      resolve,
    );
    req.on('error', reject);
    req.end(body ?? undefined);
  });
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  let bytes: Buffer = Buffer.concat(chunks);
  const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase();
  const out = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined || ((k === 'content-encoding' || k === 'content-length') && decoders[encoding])) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.append(k, one);
  }
  if (decoders[encoding] && bytes.length) bytes = await decoders[encoding](bytes);
  const status = res.statusCode ?? 502;
  // a null-body status (204, 304) takes no body
  return new Response(status === 204 || status === 304 ? null : new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length), {
    status,
    statusText: res.statusMessage ?? '',
    headers: out,
  });
};
