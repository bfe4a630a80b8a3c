import http from 'node:http';
import net from 'node:net';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { startHarness } from '../support/harness';
import { spawnWorker, type WorkerProcess } from '../support/worker-process';
import { connectPg } from '../support/clients';
import { uniqueName } from '../support/names';
import { tempDir } from '../support/temp-dir';

/**
 * A hostile producer adds one ingest job whose rows name media the worker must not read: system
 * files, credential files (directly, by traversal, by symlink), the worker's own files by relative
 * path, internal HTTP services (directly, by name, by redirect), cloud metadata, other buckets and
 * other schemes; and media that cannot be processed: non-HTTP services, a server that never
 * answers, an oversized download, an unresolvable host, malformed and NUL-laden documents. One
 * real worker process with a narrow policy runs it. Every refused reference is a cell error naming
 * the reference and the rule; nothing is read (the internal server sees no request, no planted
 * secret reaches a cell or the customer's table); every cell ends, none pending; allowed roots
 * and hosts still work, in the same batch.
 */
const PIPELINE = path.resolve(import.meta.dirname, '../pipelines/hostile');
const SECRET = `PLANTED-SECRET-${randomBytes(6).toString('hex')}`;
const OK_TEXT = 'Allowed document.\n\nIts second paragraph.';

const dir = tempDir('tessera-sec-');
let allowed: string;
let home: string;
const servers: Array<http.Server | net.Server> = [];
const adminHits: string[] = [];
let admin: number;
let content: number;
let closing: number;
let resets: number;
let garbage: number;
let silent: number;

const sockets = new Set<net.Socket>();
const listen = (s: http.Server | net.Server, host: string) =>
  new Promise<number>((resolve) => {
    servers.push(s);
    s.on('connection', (c: net.Socket) => {
      sockets.add(c);
      c.once('close', () => sockets.delete(c));
    });
    s.listen(0, host, () => resolve((s.address() as net.AddressInfo).port));
  });

beforeAll(async () => {
  allowed = path.join(dir, 'data');
  home = path.join(dir, 'home');
  await mkdir(allowed, { recursive: true });
  await mkdir(home, { recursive: true });
  await writeFile(path.join(home, 'aws_credentials'), `[default]\naws_secret_access_key = ${SECRET}\n`);
  await writeFile(path.join(home, 'api_key'), `${SECRET}\n`);
  await symlink(path.join(home, 'aws_credentials'), path.join(allowed, 'creds-link.md'));
  await symlink(home, path.join(allowed, 'homedir'));
  await writeFile(path.join(allowed, 'ok.md'), OK_TEXT);
  await writeFile(path.join(allowed, 'nul.md'), 'text with a \0 NUL byte\n\nand more');
  await writeFile(path.join(allowed, 'bad.pdf'), Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(4000)]));
  const stream = 'BT /F1 12 Tf 20 100 Td (a\\000b NUL in a PDF) Tj ET';
  await writeFile(
    path.join(allowed, 'nul.pdf'),
    `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n` +
      `3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >> endobj\n` +
      `4 0 obj << /Length ${stream.length} >> stream\n${stream}\nendstream endobj\n5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj\n` +
      `trailer << /Root 1 0 R >>\n%%EOF\n`,
  );

  // an internal admin service on loopback that must never be reached
  admin = await listen(
    http.createServer((req, res) => {
      adminHits.push(req.url ?? '');
      res.end(`admin console: ${SECRET}`);
    }),
    '127.0.0.1',
  );
  // the allowed host (127.0.0.2 is allowed explicitly); it redirects to places that are not
  content = await listen(
    http.createServer((req, res) => {
      if (req.url === '/ok.md') return res.end(OK_TEXT);
      if (req.url === '/redirect-ok') return res.writeHead(302, { location: '/ok.md' }).end();
      if (req.url === '/redirect-internal') return res.writeHead(302, { location: `http://127.0.0.1:${admin}/internal` }).end();
      if (req.url === '/redirect-metadata')
        return res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/role' }).end();
      if (req.url === '/redirect-file') return res.writeHead(302, { location: 'file:///etc/passwd' }).end();
      if (req.url === '/big.md') return res.end(Buffer.alloc(300_000, 'a'));
      res.writeHead(404).end();
    }),
    '127.0.0.2',
  );
  // services that are not HTTP: one closes without a word (as Redis and Postgres do), one answers in its own protocol
  closing = await listen(
    net.createServer((s) => s.destroy()),
    '127.0.0.2',
  );
  // one that resets the connection (RST) once the request is in, every time: retried with its job,
  // then its own cell's error on the job's last attempt, never a cell left pending
  resets = await listen(
    net.createServer((s) => s.once('data', () => s.resetAndDestroy())),
    '127.0.0.2',
  );
  garbage = await listen(
    net.createServer((s) => s.end('-ERR unknown command\r\n')),
    '127.0.0.2',
  );
  // accepts and never answers
  silent = await listen(
    net.createServer(() => undefined),
    '127.0.0.2',
  );
});

afterAll(async () => {
  for (const c of sockets) c.destroy();
  for (const s of servers) await new Promise((r) => s.close(r));
});

test('hostile media references are refused or fail their own cells; allowed roots and hosts work in the same batch', async () => {
  const customerSchema = uniqueName('cust', 4);
  process.env.TESSERA_TEST_CUSTOMER_SCHEMA = customerSchema; // the pipeline module reads it (here and in the worker)
  const h = await startHarness(PIPELINE, {
    TESSERA_MEDIA_ROOTS: allowed,
    TESSERA_MEDIA_ALLOW_ADDRESSES: '127.0.0.2',
    TESSERA_MEDIA_BUCKETS: 's3://allowed-bucket',
    TESSERA_MEDIA_TIMEOUT_MS: '1500',
    TESSERA_MEDIA_MAX_BYTES: '200000',
    TESSERA_JOB_ATTEMPTS: '3',
    TESSERA_TEST_CUSTOMER_SCHEMA: customerSchema,
  });
  const refused: Record<string, [ref: string, rule: RegExp]> = {
    'etc-passwd': ['/etc/passwd', /outside the allowed media roots/],
    'etc-shadow': ['/etc/shadow', /outside the allowed media roots/],
    traversal: ['../../../../etc/passwd', /outside the allowed media roots/],
    'traversal-in-root': [path.join(allowed, '..', 'home', 'api_key'), /outside the allowed media roots/],
    'file-url': ['file:///etc/hostname', /outside the allowed media roots/],
    proc: ['/proc/self/status', /never read/],
    'proc-environ': ['file:///proc/self/environ', /never read/],
    'home-creds': [path.join(home, 'aws_credentials'), /outside the allowed media roots/],
    symlink: [path.join(allowed, 'creds-link.md'), /after resolving symlinks is outside the allowed media roots/],
    'symlink-dir': [path.join(allowed, 'homedir', 'api_key'), /after resolving symlinks is outside the allowed media roots/],
    'ssrf-loopback': [`http://127.0.0.1:${admin}/internal`, /127\.0\.0\.1 is a loopback, private, link-local or metadata address/],
    'ssrf-name': [`http://localhost:${admin}/internal`, /resolves to .* loopback, private, link-local or metadata address/],
    'ssrf-ipv6': [`http://[::1]:${admin}/internal`, /::1 is a loopback/],
    'ssrf-redirect': [`http://127.0.0.2:${content}/redirect-internal`, /redirect to http:\/\/127\.0\.0\.1:\d+\/internal: 127\.0\.0\.1 is a loopback/],
    'redirect-metadata': [`http://127.0.0.2:${content}/redirect-metadata`, /169\.254\.169\.254 is a loopback, private, link-local or metadata address/],
    'redirect-file': [`http://127.0.0.2:${content}/redirect-file`, /scheme file: is not allowed here/],
    metadata: [
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      /169\.254\.169\.254 is a loopback, private, link-local or metadata address/,
    ],
    bucket: ['s3://other-bucket/secret.md', /s3:\/\/other-bucket is not in TESSERA_MEDIA_BUCKETS/],
    scheme: ['ftp://127.0.0.2/x.md', /scheme ftp: is not allowed/],
    credentials: [`https://user:${SECRET}@127.0.0.1:${admin}/x.md?sig=${SECRET}`, /loopback/],
  };
  const failing: Record<string, [ref: string, cause: RegExp]> = {
    'relative-cwd': ['package.json', /media file not found: package\.json/], // resolves under the root, never the worker's cwd
    'non-http-close': [`http://127.0.0.2:${closing}/x.md`, /closed the connection without an HTTP response/],
    'resets-always': [`http://127.0.0.2:${resets}/x.md`, /last attempt: .*closed the connection without an HTTP response \(ECONNRESET\)/],
    'non-http-garbage': [`http://127.0.0.2:${garbage}/x.md`, /did not answer with HTTP/],
    'never-answers': [`http://127.0.0.2:${silent}/x.md`, /no answer within 1500 ms/],
    'too-big': [`http://127.0.0.2:${content}/big.md`, /larger than 200000 bytes/],
    'no-such-host': ['http://no-such-host.invalid/x.md', /host no-such-host\.invalid not found/],
    'bad-pdf': [path.join(allowed, 'bad.pdf'), /./],
    'nul-md': [path.join(allowed, 'nul.md'), /NUL byte/],
  };
  const working: Record<string, string> = {
    'ok-local': path.join(allowed, 'ok.md'),
    'ok-relative': 'ok.md',
    'ok-http': `http://127.0.0.2:${content}/ok.md`,
    'ok-redirect': `http://127.0.0.2:${content}/redirect-ok`,
  };
  const rows = [
    ...Object.entries(refused).map(([id, [doc]]) => ({ id, doc })),
    ...Object.entries(failing).map(([id, [doc]]) => ({ id, doc })),
    ...Object.entries(working).map(([id, doc]) => ({ id, doc })),
    { id: 'nul-pdf', doc: path.join(allowed, 'nul.pdf') },
  ];
  let worker: WorkerProcess | undefined;
  const queue = new Queue('ingest', { connection: h.engine.redis, prefix: h.cfg.queuePrefix });
  const events = new QueueEvents('ingest', { connection: h.engine.redis.duplicate(), prefix: h.cfg.queuePrefix });
  try {
    await h.engine.apply(h.def);
    worker = await spawnWorker(h.cfg.env);
    // as any BullMQ producer would: one ingest job, every row in one batch
    const job = await queue.add('insert', { pipeline: 'hostile', table: 'docs', op: 'insert', rows });
    await job.waitUntilFinished(events, 60_000);
    await h.engine.waitIdle('hostile', { timeoutMs: 120_000 });

    const got = new Map((await h.engine.store.select('hostile', 'docs', { withErrors: true, limit: 1000 })).map((r) => [r.id as string, r]));
    expect(got.size).toBe(rows.length);
    // no cell pending: every text and every iteration has a value or an error
    for (const r of got.values()) {
      expect([r.id, r.text !== null || r.text_errortype !== null]).toEqual([r.id, true]);
      expect([r.id, r.chunks !== null || r.chunks_errortype !== null]).toEqual([r.id, true]);
    }
    for (const [id, [ref, rule]] of Object.entries(refused)) {
      const r = got.get(id)!;
      for (const col of ['text', 'chunks']) {
        expect([id, col, r[`${col}_errortype`]]).toEqual([id, col, 'MediaRefusedError']);
        const msg = r[`${col}_errormsg`] as string;
        expect(msg).toMatch(rule);
        expect(msg).toContain('media reference refused: ');
      }
      if (id !== 'credentials')
        expect(r.text_errormsg).toContain(ref.startsWith('file://') || ref.startsWith('/') || ref.startsWith('.') ? ref : ref.split('?')[0]);
    }
    // user:password and the query string are never repeated in a message
    expect(got.get('credentials')!.text_errormsg).toContain('https://***@127.0.0.1');
    for (const [id, [, cause]] of Object.entries(failing)) {
      const r = got.get(id)!;
      expect([id, r.text_errormsg ?? r.chunks_errormsg]).toEqual([id, expect.stringMatching(cause)]);
      expect([id, r.chunks_errortype]).not.toEqual([id, null]);
    }
    // the NUL-laden PDF: a clear error or text without NUL, never pending (checked above)
    const nulPdf = got.get('nul-pdf')!;
    expect(String(nulPdf.text ?? '')).not.toContain('\0');

    for (const id of Object.keys(working)) {
      const r = got.get(id)!;
      expect([id, r.text]).toEqual([id, OK_TEXT]);
      expect([id, r.chunks]).toEqual([id, 2]);
    }
    // nothing was read: the internal service saw no request, and no planted secret or system file is anywhere
    expect(adminHits).toEqual([]);
    const client = await connectPg(h.cfg.databaseUrl);
    try {
      const exported = (await client.query(`SELECT id, text FROM "${customerSchema}".chunks`)).rows as Array<{ id: string; text: string }>;
      expect(new Set(exported.map((e) => e.id))).toEqual(new Set(Object.keys(working)));
      // every cell and exported row, leaving out the references themselves (the producer's own input)
      const everything = JSON.stringify(
        [
          exported,
          (await client.query(`SELECT * FROM "${customerSchema}".docs`)).rows,
          [...got.values()],
          await h.engine.store.select('hostile', 'chunks', { limit: 10_000 }),
        ],
        (k, v) => (k === 'doc' ? undefined : v),
      );
      for (const leaked of [SECRET, 'root:x:0:0', 'admin console', 'VmRSS', 'aws_secret_access_key', '"name": "tessera"'])
        expect(everything).not.toContain(leaked);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS "${customerSchema}" CASCADE`);
      await client.end();
    }
    expect(worker.child.exitCode).toBeNull(); // the worker is alive
  } finally {
    await events.close();
    await queue.close();
    await worker?.stop();
    await h.close();
    delete process.env.TESSERA_TEST_CUSTOMER_SCHEMA;
  }
});
