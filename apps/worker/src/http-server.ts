import http from 'node:http';
import type { Metrics } from './metrics';

/**
 * Health and metrics: `/healthz` (the process is up), `/readyz` (503 once shutting down, so a
 * load balancer or orchestrator stops counting on it), `/metrics` (Prometheus text format).
 */
export function startHttpServer(
  port: number,
  metrics: Metrics,
  state: { ready: boolean; queues: string[] },
  /** answers the paths it owns (the dashboard under /dashboard), false for the others */
  mounted?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>,
): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    if (mounted && (await mounted(req, res))) return;
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, queues: state.queues }));
    } else if (req.url === '/readyz') {
      res.writeHead(state.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready: state.ready }));
    } else if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
    } else res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}
