import { spawn } from 'node:child_process';
import path from 'node:path';
import { waitFor } from './wait';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Run the real `tessera` CLI in a child process; resolves with its exit code and output. */
export function runCli(args: string[], env: Record<string, string>, stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps/cli/src/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, NODE_OPTIONS: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(stdin ?? '');
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Run the CLI and return its output; a non-zero exit fails with the command and its stderr. */
export async function runCliOk(args: string[], env: Record<string, string>, stdin?: string): Promise<string> {
  const r = await runCli(args, env, stdin);
  if (r.code !== 0) throw new Error(`tessera ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Poll `tessera status <pipeline>` until no column has pending cells; resolves with that status. */
export function cliSettled(pipeline: string, env: Record<string, string>): Promise<string> {
  return waitFor(
    `${pipeline}: no pending cells in \`tessera status\``,
    async () => {
      const out = await runCliOk(['status', pipeline], env);
      return /pending [1-9]/.test(out) ? undefined : out;
    },
    { timeoutMs: 120_000, everyMs: 200 },
  );
}
