import http from 'node:http';
import { z } from 'zod';
import { Engine, loadConfig, loadPipelines, type TesseraConfig } from '@tessera/runtime';
import { createDashboard } from './dashboard';

/** TESSERA_DASHBOARD_TOKEN: enables actions (retry, revert, recompute) for requests that carry it. */
export const DashboardEnv = z.object({
  TESSERA_DASHBOARD_TOKEN: z.string().min(16, 'TESSERA_DASHBOARD_TOKEN must be at least 16 characters').optional(),
});

export function dashboardToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const r = DashboardEnv.safeParse({ TESSERA_DASHBOARD_TOKEN: env.TESSERA_DASHBOARD_TOKEN || undefined });
  if (!r.success) throw new Error(r.error.issues.map((i) => i.message).join('; '));
  return r.data.TESSERA_DASHBOARD_TOKEN;
}

export interface RunningDashboard {
  port: number;
  close(): Promise<void>;
}

/** `tessera dashboard`: the dashboard alone, at the root of its own HTTP server (plus /healthz). */
export async function startDashboardServer(opts: { port: number; host?: string; config?: TesseraConfig; token?: string }): Promise<RunningDashboard> {
  const config = opts.config ?? loadConfig();
  const engine = await Engine.connect(config);
  // the pipelines' code is optional here: it adds the exports to the lineage
  const pipelines = await loadPipelines(config.pipelines).catch(() => []);
  const token = opts.token ?? dashboardToken();
  const handle = createDashboard({ engine, pipelines, ...(token ? { token } : {}) });
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : opts.port,
    async close() {
      await new Promise((r) => server.close(r));
      await engine.close();
    },
  };
}
