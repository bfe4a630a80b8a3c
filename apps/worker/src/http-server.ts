import http from 'node:http';
import type { Metrics } from './metrics';
import { authorized } from './http-auth';

export interface HttpServerOptions {
  port: number;
  /** bind address (TESSERA_WORKER_HOST, default loopback: reachable from elsewhere only when configured) */
  host: string;
  /** bearer token for control actions (TESSERA_WORKER_TOKEN); without it there are none */
  token?: string;
}

/**
 * Health and metrics: `/healthz` (the process is up), `/readyz` (503 once shutting down, so a
 * load balancer or orchestrator stops counting on it), `/metrics` (Prometheus text format). All
 * read-only GETs; anything else is refused without reading a body, and slow or oversized requests
 * are cut off, so a stranger cannot tie the server up.
 */
export function startHttpServer(
  opts: HttpServerOptions,
  metrics: Metrics,
  state: { ready: boolean; queues: string[] },
  /** answers the paths it owns (the dashboard under /dashboard, with its own token), false for the others */
  mounted?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>,
): Promise<http.Server> {
  const server = http.createServer(
    { maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: 5_000, connectionsCheckingInterval: 1_000 },
    async (req, res) => {
      if (mounted && (await mounted(req, res))) return;
      const refuse = (status: number, message: string) =>
        res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ error: message }));
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        // control actions (none yet) need the token; a body is never read
        if (!authorized(req, opts.token))
          return refuse(opts.token ? 401 : 403, opts.token ? 'a valid bearer token is required' : 'control actions are disabled (no TESSERA_WORKER_TOKEN)');
        return refuse(404, 'no such action');
      }
      if (Number(req.headers['content-length'] ?? 0) > 0) return refuse(413, 'no request body is accepted');
      const url = (req.url ?? '').split('?')[0];
      if (url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, queues: state.queues }));
      } else if (url === '/readyz') {
        res.writeHead(state.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready: state.ready }));
      } else if (url === '/metrics') {
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
      } else res.writeHead(404).end();
    },
  );
  server.keepAliveTimeout = 5_000;
  server.maxRequestsPerSocket = 100;
  // a malformed, oversized or timed-out request gets a short answer and its connection closed
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve(server));
  });
}
