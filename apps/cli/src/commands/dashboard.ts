import { startDashboardServer } from '@tessera/dashboard';

/** `tessera dashboard [--port N]`: serve the web UI until SIGTERM/SIGINT (read-only unless TESSERA_DASHBOARD_TOKEN is set). */
export async function dashboardCommand(flags: { port?: string }) {
  const port = flags.port === undefined ? 8080 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${flags.port}`);
  const d = await startDashboardServer({ port });
  console.error(`tessera dashboard: http://127.0.0.1:${d.port}/ (${process.env.TESSERA_DASHBOARD_TOKEN ? 'actions with the token' : 'read-only'})`);
  await new Promise<void>((resolve) => {
    const stop = () => void d.close().then(resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
