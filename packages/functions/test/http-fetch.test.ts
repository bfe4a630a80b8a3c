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
