import type http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { PipelineDef } from '@tessera/core';
import { BASE_QUEUES, type Engine } from '@tessera/runtime';
import { PAGE } from './page';
import { ProgressTracker } from './progress';
import { queueNames, queues } from './queues';
import { snapshot } from './snapshot';
import { sources } from './sources';
import { limiterBuckets } from './limiter';

export interface DashboardOptions {
  engine: Engine;
  /** pipelines whose code this process loaded: their exports appear in the lineage */
  pipelines?: PipelineDef[];
  /** actions (retry, revert, recompute) need `Authorization: Bearer <token>`; without a token the dashboard is read-only */
  token?: string;
  /** where it is mounted, e.g. `/dashboard` in a worker; `''` at the root */
  basePath?: string;
}

/** A request handler: true when it answered (a path under basePath), false to let the host answer. */
export type DashboardHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>;

const Target = z.object({ pipeline: z.string().min(1).max(64), table: z.string().min(1).max(64) });
const JobRef = z.object({ queue: z.string().min(1).max(200), id: z.string().min(1).max(400) });

/**
 * The web UI and its JSON API. GET endpoints read the catalog, the sources, the limiter's buckets and the queues; POST endpoints act
 * (retry a failed job, retry a table's failed cells, revert its latest version) and need the token.
 */
export function createDashboard(opts: DashboardOptions): DashboardHandler {
  const base = (opts.basePath ?? '').replace(/\/$/, '');
  const progress = new ProgressTracker();
  const code = new Map((opts.pipelines ?? []).map((p) => [p.name, p]));
  const { engine } = opts;

  const actions: Record<string, (body: unknown) => Promise<unknown>> = {
    'jobs/retry': async (body) => {
      const { queue, id } = JobRef.parse(body);
      const job = await engine.queue(queue).getJob(id);
      if (!job) throw new HttpError(404, `no job ${id} in queue ${queue}`);
      await job.retry('failed');
      return { retried: id };
    },
    'cells/retry': async (body) => {
      const { pipeline, table } = Target.parse(body);
      return { recomputed: await engine.recompute(pipeline, table, { errorsOnly: true }) };
    },
    'versions/revert': async (body) => {
      const { pipeline, table } = Target.parse(body);
      return { reverted: await engine.store.revert(pipeline, table) };
    },
  };

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (base && url.pathname !== base && !url.pathname.startsWith(`${base}/`)) return false;
    const route = url.pathname.slice(base.length) || '/';
    try {
      if (req.method === 'GET' && route === '/') {
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
        });
        res.end(PAGE(base, !!opts.token));
      } else if (req.method === 'GET' && route === '/api/pipelines') {
        json(res, 200, await snapshot(engine, progress, code));
      } else if (req.method === 'GET' && route === '/api/queues') {
        json(res, 200, await queues(engine, await queueNames(engine, BASE_QUEUES)));
      } else if (req.method === 'GET' && route === '/api/sources') {
        json(res, 200, await sources(engine));
      } else if (req.method === 'GET' && route === '/api/limiter') {
        json(res, 200, await limiterBuckets(engine));
      } else if (req.method === 'GET' && (route === '/api/errors' || route === '/api/versions')) {
        const { pipeline, table } = Target.parse(Object.fromEntries(url.searchParams));
        json(res, 200, route === '/api/errors' ? await engine.store.errors(pipeline, table, { limit: 200 }) : await engine.store.versions(pipeline, table));
      } else if (req.method === 'POST' && route.startsWith('/api/')) {
        const action = actions[route.slice('/api/'.length)];
        if (!action) throw new HttpError(404, `no action ${route}`);
        if (!opts.token) throw new HttpError(403, 'the dashboard is read-only: start it with TESSERA_DASHBOARD_TOKEN set to allow actions');
        if (!tokenMatches(req.headers.authorization, opts.token)) throw new HttpError(401, 'actions need the dashboard token (Authorization: Bearer <token>)');
        json(res, 200, await action(await readJson(req)));
      } else {
        json(res, 404, { error: `not found: ${route}` });
      }
    } catch (e) {
      const status = e instanceof HttpError ? e.status : e instanceof z.ZodError ? 400 : 500;
      json(res, status, { error: e instanceof z.ZodError ? e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (e as Error).message });
    }
    return true;
  };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/.exec(header ?? '')?.[1] ?? '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

function json(res: http.ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 100_000) throw new HttpError(413, 'request body too large');
  }
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
}
