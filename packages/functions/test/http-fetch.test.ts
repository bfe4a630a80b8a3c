import http from 'node:http';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { jsonFetch } from '../src/model/http-fetch';

/** jsonFetch against a real HTTP server: what the SDKs read from a Response must be what the global fetch gives. */
let server: http.Server;
let base: string;
const seen: Array<{ method: string; type: string; body: string }> = [];
beforeAll(async () => {
  server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    seen.push({ method: req.method!, type: String(req.headers['content-type'] ?? ''), body });
    if (req.url === '/gzip') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      return res.end(zlib.gzipSync(JSON.stringify({ zipped: true, accept: req.headers['accept-encoding'] })));
    }
    if (req.url === '/limited') {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2', 'x-ratelimit-remaining-requests': '0' });
      return res.end(JSON.stringify({ error: { message: 'slow down' } }));
    }
    if (req.url === '/slow') return void setTimeout(() => res.end('{}'), 5000);
    if (req.url === '/upload') return res.end('{}');
    if (req.url === '/empty') {
      res.writeHead(204);
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
    res.end(JSON.stringify({ echo: body ? JSON.parse(body) : null, auth: req.headers.authorization }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test('a JSON request gets its status, headers and body', async () => {
  const res = await jsonFetch(`${base}/echo`, { method: 'POST', headers: { authorization: 'Bearer k', 'content-type': 'application/json' }, body: '{"a":1}' });
  expect(res.status).toBe(200);
  expect(res.headers.get('set-cookie')).toBe('a=1, b=2');
  expect(await res.json()).toEqual({ echo: { a: 1 }, auth: 'Bearer k' });
});

test('a compressed answer is decompressed, without the encoding header', async () => {
  const res = await jsonFetch(`${base}/gzip`, { method: 'GET' });
  expect(res.headers.get('content-encoding')).toBeNull();
  expect(await res.json()).toEqual({ zipped: true, accept: 'gzip, deflate, br' });
});

test('an error status keeps the headers the rate limiter reads', async () => {
  const res = await jsonFetch(`${base}/limited`, { method: 'POST', body: '{}' });
  expect(res.status).toBe(429);
  expect(res.headers.get('retry-after')).toBe('2');
  expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('0');
  expect(await res.json()).toEqual({ error: { message: 'slow down' } });
});

test('a 204 has no body', async () => {
  const res = await jsonFetch(`${base}/empty`, { method: 'DELETE' });
  expect(res.status).toBe(204);
  expect(await res.text()).toBe('');
});

test('an aborted request rejects with an AbortError', async () => {
  await expect(jsonFetch(`${base}/slow`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ name: 'AbortError' });
});

test('an upload (a body that is not a string) goes through the global fetch', async () => {
  const form = new FormData();
  form.append('file', new Blob(['bytes']), 'a.wav');
  const res = await jsonFetch(`${base}/upload`, { method: 'POST', body: form });
  expect(res.status).toBe(200);
  expect(seen.at(-1)!.type).toMatch(/^multipart\/form-data; boundary=/);
  expect(seen.at(-1)!.body).toContain('bytes');
});

test("an idle kept-alive connection is closed by the client before the server's announced keep-alive timeout", async () => {
  // the server closes idle connections after 3 s and says so (Keep-Alive: timeout=3); the client
  // must close first (at 2 s), or a request written as the server closes fails with ECONNRESET.
  // Both timers run in this process, so which fires first does not depend on the machine's load.
  const quick = http.createServer((_req, res) => res.end('{"ok":true}'));
  quick.keepAliveTimeout = 3000;
  const closedBy = new Promise<'client' | 'server'>((resolve) =>
    quick.on('connection', (socket) => {
      let clientEnded = false;
      socket.on('end', () => (clientEnded = true)); // the peer's FIN: the client closed it
      socket.on('close', () => resolve(clientEnded ? 'client' : 'server'));
    }),
  );
  await new Promise<void>((r) => quick.listen(0, '127.0.0.1', r));
  try {
    const res = await jsonFetch(`http://127.0.0.1:${(quick.address() as AddressInfo).port}/`, { method: 'POST', body: '{}' });
    expect(res.headers.get('keep-alive')).toBe('timeout=3');
    expect(await res.json()).toEqual({ ok: true });
    expect(await closedBy).toBe('client');
  } finally {
    quick.closeAllConnections();
    await new Promise((r) => quick.close(r));
  }
});

test('a request slower than the idle timeout of a reused connection is not cut', async () => {
  // the socket keeps the idle timeout (4 s from the 5 s hint) when reused: it must not end the request
  const res1 = await jsonFetch(`${base}/echo`, { method: 'POST', body: '{"a":1}' });
  await res1.json();
  const res = await jsonFetch(`${base}/slow`, { method: 'POST', body: '{}' });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({});
}, 20_000);
