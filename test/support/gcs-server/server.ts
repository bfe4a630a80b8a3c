import * as http from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { crc32cBase64 } from './crc32c';

/**
 * A small in-memory server for the parts of the GCS JSON API that @google-cloud/storage uses to
 * write, check and read objects: media, multipart and resumable uploads, object metadata, and
 * downloads (alt=media). No GCS emulator installs here, so the tests run against this.
 */
export interface GcsTestServer {
  url: string;
  objects: Map<string, StoredObject>;
  /** requests seen, as "METHOD path?uploadType", for assertions about how uploads were made */
  log: string[];
  close(): Promise<void>;
}

interface StoredObject {
  bucket: string;
  name: string;
  data: Buffer;
  contentType: string;
  generation: string;
}

export async function startGcsServer(): Promise<GcsTestServer> {
  const objects = new Map<string, StoredObject>();
  const sessions = new Map<string, { bucket: string; name: string; contentType: string; chunks: Buffer[] }>();
  const log: string[] = [];
  let base = '';

  const meta = (o: StoredObject) => ({
    kind: 'storage#object',
    id: `${o.bucket}/${o.name}/${o.generation}`,
    bucket: o.bucket,
    name: o.name,
    generation: o.generation,
    metageneration: '1',
    contentType: o.contentType,
    size: String(o.data.length),
    md5Hash: createHash('md5').update(o.data).digest('base64'),
    crc32c: crc32cBase64(o.data),
    storageClass: 'STANDARD',
    timeCreated: new Date().toISOString(),
    updated: new Date().toISOString(),
  });

  // as in GCS, every write of an object makes a new generation (two in one millisecond included)
  let lastGeneration = 0;
  const store = (bucket: string, name: string, data: Buffer, contentType: string) => {
    lastGeneration = Math.max(Date.now(), lastGeneration + 1);
    const o = { bucket, name, data, contentType, generation: String(lastGeneration) };
    objects.set(`${bucket}/${name}`, o);
    return o;
  };

  const send = (res: http.ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(text);
  };
  const notFound = (res: http.ServerResponse, what: string) =>
    send(res, 404, { error: { code: 404, message: `No such object: ${what}`, errors: [{ reason: 'notFound' }] } });

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const u = new URL(req.url ?? '/', 'http://x');
    const path = u.pathname;
    log.push(`${req.method} ${path}${u.searchParams.get('uploadType') ? `?${u.searchParams.get('uploadType')}` : ''}`);
    try {
      // uploads: POST /upload/storage/v1/b/:bucket/o?uploadType=media|multipart|resumable
      let m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path);
      if (m && req.method === 'POST') {
        const bucket = decodeURIComponent(m[1]!);
        const type = u.searchParams.get('uploadType');
        if (type === 'media') {
          return send(res, 200, meta(store(bucket, u.searchParams.get('name')!, body, String(req.headers['content-type'] ?? 'application/octet-stream'))));
        }
        if (type === 'multipart') {
          const { metadata, media, mediaType } = parseMultipart(body, String(req.headers['content-type']));
          const name = (metadata.name as string | undefined) ?? u.searchParams.get('name')!;
          return send(res, 200, meta(store(bucket, name, media, (metadata.contentType as string | undefined) ?? mediaType)));
        }
        if (type === 'resumable') {
          const metadata = body.length ? (JSON.parse(body.toString()) as Record<string, unknown>) : {};
          const id = randomUUID();
          sessions.set(id, {
            bucket,
            name: (metadata.name as string | undefined) ?? u.searchParams.get('name')!,
            contentType: String(req.headers['x-upload-content-type'] ?? metadata.contentType ?? 'application/octet-stream'),
            chunks: [],
          });
          return send(res, 200, {}, { location: `${base}/upload/resumable/${id}` });
        }
        return send(res, 400, { error: { code: 400, message: `unsupported uploadType ${type}` } });
      }
      // resumable session: PUT chunks with Content-Range; `bytes a-b/*` (or `a-*/*`, `*/*`) until the last
      m = /^\/upload\/resumable\/([^/]+)$/.exec(path);
      if (m && req.method === 'PUT') {
        const session = sessions.get(m[1]!);
        if (!session) return send(res, 404, { error: { code: 404, message: 'no such upload session' } });
        if (body.length) session.chunks.push(body);
        const range = String(req.headers['content-range'] ?? 'bytes */*');
        const total = /\/(\d+|\*)$/.exec(range)?.[1] ?? '*';
        const received = session.chunks.reduce((n, c) => n + c.length, 0);
        const final = (total !== '*' && Number(total) === received) || /^bytes (\d+-)?\*\/\*$/.test(range);
        if (!final) return send(res, 308, undefined, received ? { range: `bytes=0-${received - 1}` } : {});
        sessions.delete(m[1]!);
        return send(res, 200, meta(store(session.bucket, session.name, Buffer.concat(session.chunks), session.contentType)));
      }
      // objects: GET /storage/v1/b/:bucket/o/:name (metadata, or bytes with alt=media), also under /download,
      // and without /storage/v1, which is how the client library calls a STORAGE_EMULATOR_HOST
      m = /^(?:\/download)?(?:\/storage\/v1)?\/b\/([^/]+)\/o\/(.+)$/.exec(path);
      if (m) {
        const key = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
        const o = objects.get(key);
        if (req.method === 'DELETE') {
          if (!o) return notFound(res, key);
          objects.delete(key);
          return send(res, 204);
        }
        if (!o) return notFound(res, key);
        if (u.searchParams.get('alt') === 'media') {
          res.writeHead(200, {
            'content-type': o.contentType,
            'content-length': String(o.data.length),
            'x-goog-hash': `crc32c=${crc32cBase64(o.data)},md5=${createHash('md5').update(o.data).digest('base64')}`,
            'x-goog-stored-content-encoding': 'identity',
            'x-goog-generation': o.generation,
          });
          return res.end(o.data);
        }
        return send(res, 200, meta(o));
      }
      // listing: GET /b/:bucket/o?prefix&startOffset&maxResults&pageToken, in name order, a page at a time
      m = /^(?:\/storage\/v1)?\/b\/([^/]+)\/o\/?$/.exec(path);
      if (m && req.method === 'GET') {
        const bucket = decodeURIComponent(m[1]!);
        const prefix = u.searchParams.get('prefix') ?? '';
        const after = u.searchParams.get('pageToken') ?? '';
        const start = u.searchParams.get('startOffset') ?? '';
        const max = Number(u.searchParams.get('maxResults') ?? 1000);
        const names = [...objects.values()]
          .filter((o) => o.bucket === bucket && o.name.startsWith(prefix) && o.name >= start && (!after || o.name > after))
          .map((o) => o.name)
          .sort();
        const page = names.slice(0, max);
        return send(res, 200, {
          kind: 'storage#objects',
          items: page.map((n) => meta(objects.get(`${bucket}/${n}`)!)),
          ...(names.length > max ? { nextPageToken: page.at(-1) } : {}),
        });
      }
      // buckets always exist
      m = /^(?:\/storage\/v1)?\/b\/([^/]+)$/.exec(path);
      if (m) return send(res, 200, { kind: 'storage#bucket', name: decodeURIComponent(m[1]!), id: decodeURIComponent(m[1]!) });
      return send(res, 404, { error: { code: 404, message: `not implemented: ${req.method} ${path}` } });
    } catch (err) {
      return send(res, 500, { error: { code: 500, message: (err as Error).message } });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    objects,
    log,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** multipart/related: a JSON metadata part, then the media part. */
function parseMultipart(body: Buffer, contentType: string): { metadata: Record<string, unknown>; media: Buffer; mediaType: string } {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new Error('multipart upload without a boundary');
  const delim = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = body.indexOf(delim);
  while (at !== -1) {
    const next = body.indexOf(delim, at + delim.length);
    if (next === -1) break;
    parts.push(body.subarray(at + delim.length, next));
    at = next;
  }
  const split = (p: Buffer) => {
    const sep = p.indexOf('\r\n\r\n');
    const headers = p.subarray(0, sep).toString();
    let content = p.subarray(sep + 4);
    if (content.subarray(-2).toString() === '\r\n') content = content.subarray(0, -2);
    return { headers, content };
  };
  const [metaPart, mediaPart] = parts.map(split);
  if (!metaPart || !mediaPart) throw new Error('multipart upload needs a metadata and a media part');
  return {
    metadata: JSON.parse(metaPart.content.toString()) as Record<string, unknown>,
    media: mediaPart.content,
    mediaType: /content-type:\s*([^\r\n]+)/i.exec(mediaPart.headers)?.[1] ?? 'application/octet-stream',
  };
}
