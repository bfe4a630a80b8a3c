import { timingSafeEqual, createHash } from 'node:crypto';
import type http from 'node:http';

/**
 * Is the request allowed to take a control action? Only with `Authorization: Bearer <token>` and a
 * token configured (TESSERA_WORKER_TOKEN); without one configured, no control action is allowed.
 * Compared in constant time (over hashes, so lengths leak nothing either).
 */
export function authorized(req: http.IncomingMessage, token: string | undefined): boolean {
  if (!token) return false;
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!.trim()), digest(token));
}
