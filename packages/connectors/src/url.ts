import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

/** A media or file location split into its parts: `s3://bucket/a/b` -> scheme s3, host bucket, path a/b. */
export interface ParsedLocation {
  scheme: string;
  /** bucket (s3, gs), account (az), host (http) */
  host: string;
  /** the rest, without leading or trailing slashes */
  path: string;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** Plain paths and file:// URLs are local; everything else has a scheme. */
export function isLocal(ref: string): boolean {
  const m = SCHEME.exec(ref);
  return !m || m[1]!.toLowerCase() === 'file';
}

export function schemeOf(ref: string): string {
  const m = SCHEME.exec(ref);
  return m ? m[1]!.toLowerCase() : 'file';
}

/** A local ref (plain path or file:// URL) as an absolute filesystem path. */
export function localPathOf(ref: string): string {
  return path.resolve(schemeOf(ref) === 'file' && SCHEME.test(ref) ? fileURLToPath(ref) : ref);
}

export function parseLocation(ref: string): ParsedLocation {
  const u = new URL(ref);
  return {
    scheme: u.protocol.replace(/:$/, '').toLowerCase(),
    host: u.host,
    path: decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, ''),
  };
}

/** Join a destination (`s3://b/prefix`, `/tmp/dir`, `file:///tmp/dir`) and a key, keeping the destination's form. */
export function joinLocation(base: string, key: string): string {
  if (!SCHEME.test(base)) return path.join(base, key);
  return `${base.replace(/\/+$/, '')}/${key.replace(/^\/+/, '')}`;
}

/** Object key below a prefix: prefix `a/b` and key `x.png` -> `a/b/x.png`. */
export function joinKey(prefix: string, key: string): string {
  return prefix ? `${prefix}/${key}` : key;
}
