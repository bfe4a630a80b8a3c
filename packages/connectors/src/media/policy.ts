import { realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type BlockList, type LookupFunction } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CellInputError, ConfigError } from '@tessera/core';
import { addressList, refusedAddress } from './addresses';
import { isAzureHttpsUrl, parseAzureUrl } from './azure-store';
import { redactRef } from './redact';

/**
 * What a worker may read when a cell names media. Media references are untrusted input (any
 * producer of an ingest job writes them), so by default a worker reads only local files under
 * its roots, public http(s) hosts, and object stores; see "Security" in the README.
 */
export interface MediaPolicyOptions {
  /** local directories media may be read from; symlinks are resolved before the check. A relative reference resolves against the first. */
  roots: string[];
  /** http(s) host patterns that may be fetched (`example.com`, `*.example.com`); empty: any host */
  hostsAllow?: string[];
  /** http(s) host patterns never fetched, checked before hostsAllow */
  hostsDeny?: string[];
  /** addresses or CIDR ranges reachable although loopback, private or link-local (e.g. `10.1.0.0/16`) */
  allowAddresses?: string[];
  /** object-store locations that may be read (`s3://bucket`, `gs://bucket`, `az://account/container`); empty: any */
  buckets?: string[];
  /** largest download, in bytes */
  maxBytes?: number;
  /** longest wait for a connection, the response, or the next bytes of it */
  timeoutMs?: number;
  /** longest whole download */
  downloadMs?: number;
  maxRedirects?: number;
}

/** Never readable, whatever the roots say: the kernel's and devices' views of the machine. */
const FORBIDDEN = ['/proc', '/sys', '/dev'];

const READABLE_SCHEMES = new Set(['file', 'http', 'https', 's3', 'gs', 'az']);

/** A name that resolved to an address the policy refuses (raised in the lookup, named with its reference by the caller). */
export class AddressRefused extends Error {
  constructor(
    readonly host: string,
    readonly rule: string,
  ) {
    super(`host ${host} resolves to ${rule}`);
    this.name = 'AddressRefused';
  }
}

/** A reference the media policy refuses: a cell error naming the reference and the rule, never content. */
export class MediaRefusedError extends CellInputError {
  constructor(ref: string, rule: string) {
    super(`media reference refused: ${redactRef(ref)}: ${rule}`, { ref: redactRef(ref), rule }, 'E_MEDIA_REFUSED');
    this.name = 'MediaRefusedError';
  }
}

const under = (file: string, dir: string) => file === dir || file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

/** An absolute root as the filesystem sees it (a symlinked /tmp compares by its target). */
function realRoot(dir: string): string {
  const abs = path.resolve(dir);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

export class MediaPolicy {
  readonly roots: string[];
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly downloadMs: number;
  readonly maxRedirects: number;
  private readonly hostsAllow: string[];
  private readonly hostsDeny: string[];
  private readonly allowed: BlockList;
  private readonly buckets: string[];

  constructor(opts: MediaPolicyOptions) {
    this.roots = [...new Set(opts.roots.filter(Boolean).map(realRoot))];
    this.hostsAllow = (opts.hostsAllow ?? []).map((h) => h.toLowerCase());
    this.hostsDeny = (opts.hostsDeny ?? []).map((h) => h.toLowerCase());
    try {
      this.allowed = addressList(opts.allowAddresses ?? []);
    } catch (e) {
      throw new ConfigError(`media policy: TESSERA_MEDIA_ALLOW_ADDRESSES: ${(e as Error).message}`);
    }
    this.buckets = (opts.buckets ?? []).map((b) => b.replace(/\/+$/, '').toLowerCase());
    for (const b of this.buckets) {
      if (!/^(s3|gs):\/\/[^/]+$|^az:\/\/[^/]+\/[^/]+$/.test(b))
        throw new ConfigError(`media policy: TESSERA_MEDIA_BUCKETS: "${b}" is not s3://bucket, gs://bucket or az://account/container`);
    }
    this.maxBytes = opts.maxBytes ?? 2 * 1024 ** 3;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.downloadMs = opts.downloadMs ?? 600_000;
    this.maxRedirects = opts.maxRedirects ?? 5;
  }

  /** A copy that may also read under `dirs` (the worker's own media destination: views read what views wrote). */
  withRoots(dirs: string[]): MediaPolicy {
    const copy = Object.create(MediaPolicy.prototype) as MediaPolicy;
    Object.assign(copy, this, { roots: [...new Set([...this.roots, ...dirs.map(realRoot)])] });
    return copy;
  }

  /**
   * The real path of a local reference (plain path or file:// URL) the policy allows, or a
   * MediaRefusedError. Nothing outside the roots is touched, not even to see whether it exists.
   */
  async resolveLocal(ref: string): Promise<string> {
    if (ref.includes('\0')) throw new MediaRefusedError(ref.replace(/\0/g, '\\0'), 'contains a NUL byte');
    let given: string;
    try {
      given = /^file:/i.test(ref) ? fileURLToPath(ref) : ref;
    } catch (e) {
      throw new MediaRefusedError(ref, `not a local file URL (${(e as Error).message})`);
    }
    if (!this.roots.length) throw new MediaRefusedError(ref, 'local media is not allowed (no TESSERA_MEDIA_ROOTS)');
    // relative paths mean "under the first root", never the worker's working directory
    const lexical = path.resolve(this.roots[0]!, given);
    this.checkInside(ref, lexical, '');
    let real: string;
    try {
      real = await realpath(lexical);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CellInputError(
        code === 'ENOENT' || code === 'ENOTDIR' ? `media file not found: ${redactRef(ref)}` : `media file cannot be read: ${redactRef(ref)} (${code})`,
        { ref: redactRef(ref) },
      );
    }
    if (real !== lexical) this.checkInside(ref, real, ' after resolving symlinks');
    return real;
  }

  private checkInside(ref: string, file: string, how: string): void {
    if (FORBIDDEN.some((d) => under(file, d))) throw new MediaRefusedError(ref, `${file}${how} is under ${FORBIDDEN.join(', ')}, which are never read`);
    if (!this.roots.some((r) => under(file, r))) throw new MediaRefusedError(ref, `${file}${how} is outside the allowed media roots (TESSERA_MEDIA_ROOTS)`);
  }

  /** Check a remote reference before anything is fetched: its scheme, its bucket, or its host. */
  checkRemote(ref: string): void {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(ref)?.[1]?.toLowerCase() ?? '';
    if (!READABLE_SCHEMES.has(scheme)) throw new MediaRefusedError(ref, `scheme ${scheme}: is not allowed (file, http, https, s3, gs, az)`);
    let url: URL;
    try {
      url = new URL(ref);
    } catch {
      throw new MediaRefusedError(ref, 'not a valid URL');
    }
    if (scheme === 's3' || scheme === 'gs') return this.checkBucket(ref, `${scheme}://${url.host}`);
    if (scheme === 'az' || isAzureHttpsUrl(ref)) {
      const loc = parseAzureUrl(ref);
      return this.checkBucket(ref, `az://${loc.account}/${loc.container}`);
    }
    this.checkHttp(url, ref);
  }

  /** An http(s) URL, the first or one a redirect points at: scheme, host patterns, and an IP written in the URL. */
  checkHttp(url: URL, ref = url.href): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new MediaRefusedError(ref, `scheme ${url.protocol} is not allowed here (http, https)`);
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (this.hostsDeny.some((p) => hostMatches(host, p))) throw new MediaRefusedError(ref, `host ${host} is denied (TESSERA_MEDIA_HOSTS_DENY)`);
    if (this.hostsAllow.length && !this.hostsAllow.some((p) => hostMatches(host, p)))
      throw new MediaRefusedError(ref, `host ${host} is not in TESSERA_MEDIA_HOSTS_ALLOW`);
    // a literal address never goes through DNS, so it is checked here; names are checked on every lookup
    if (isIP(host)) {
      const why = refusedAddress(host, this.allowed);
      if (why) throw new MediaRefusedError(ref, why);
    }
  }

  private checkBucket(ref: string, bucket: string): void {
    if (this.buckets.length && !this.buckets.includes(bucket.toLowerCase())) throw new MediaRefusedError(ref, `${bucket} is not in TESSERA_MEDIA_BUCKETS`);
  }

  /**
   * DNS lookup for media connections: every address a name resolves to must pass, so a name
   * cannot point at an internal address, and since it runs for each connection (each redirect
   * too), a name that changes its answer (DNS rebinding) is checked on what is actually dialled.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return (callback as (e: Error) => void)(err);
      for (const a of addresses) {
        const why = refusedAddress(a.address, this.allowed);
        if (why) return (callback as (e: Error) => void)(new AddressRefused(hostname, why));
      }
      if ((options as { all?: boolean }).all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      (callback as (e: null, a: string, f: number) => void)(null, first.address, first.family);
    });
  };
}

/** `example.com` matches itself; `*.example.com` matches its subdomains. */
function hostMatches(host: string, pattern: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return host === pattern;
}

const list = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
const positive = (def: number) => z.coerce.number().int().positive().default(def);

const envSchema = z.object({
  TESSERA_MEDIA_ROOTS: z.string().default('data'),
  TESSERA_MEDIA_HOSTS_ALLOW: list,
  TESSERA_MEDIA_HOSTS_DENY: list,
  TESSERA_MEDIA_ALLOW_ADDRESSES: list,
  TESSERA_MEDIA_BUCKETS: list,
  TESSERA_MEDIA_MAX_BYTES: positive(2 * 1024 ** 3),
  TESSERA_MEDIA_TIMEOUT_MS: positive(30_000),
  TESSERA_MEDIA_DOWNLOAD_MS: positive(600_000),
  TESSERA_MEDIA_MAX_REDIRECTS: z.coerce.number().int().min(0).default(5),
});

/**
 * The policy from the environment (documented in the README's Security section). Relative roots
 * are taken from the working directory at start; `TESSERA_MEDIA_ROOTS=none` allows no local media.
 */
export function mediaPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): MediaPolicy {
  const r = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('TESSERA_MEDIA_') && v !== '')));
  if (!r.success) throw new ConfigError(`invalid configuration: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const e = r.data;
  const roots =
    e.TESSERA_MEDIA_ROOTS.trim() === 'none'
      ? []
      : e.TESSERA_MEDIA_ROOTS.split(',')
          .map((x) => x.trim())
          .filter(Boolean);
  return new MediaPolicy({
    roots,
    hostsAllow: e.TESSERA_MEDIA_HOSTS_ALLOW,
    hostsDeny: e.TESSERA_MEDIA_HOSTS_DENY,
    allowAddresses: e.TESSERA_MEDIA_ALLOW_ADDRESSES,
    buckets: e.TESSERA_MEDIA_BUCKETS,
    maxBytes: e.TESSERA_MEDIA_MAX_BYTES,
    timeoutMs: e.TESSERA_MEDIA_TIMEOUT_MS,
    downloadMs: e.TESSERA_MEDIA_DOWNLOAD_MS,
    maxRedirects: e.TESSERA_MEDIA_MAX_REDIRECTS,
  });
}
