import * as http from 'node:http';
import * as https from 'node:https';
import { PassThrough, type Readable } from 'node:stream';
import { CellInputError, TesseraError, TransientError } from '@tessera/core';
import { AddressRefused, MediaRefusedError, type MediaPolicy } from './policy';
import { redactRef } from './redact';
import { isTransientNetworkError } from './transient';

export interface HttpMedia {
  status: number;
  /** the body, limited in size and time by the policy (an error on the stream when over) */
  body: Readable;
  /** from a Retry-After header in seconds */
  retryAfterMs?: number;
  /** what names this content: the ETag, else Last-Modified, with Content-Length (absent when the server sends neither) */
  validator?: string;
}

/**
 * Open an http(s) media URL under the media policy: the URL and every redirect are checked
 * (scheme, host, literal address), every connection dials only addresses the policy's lookup
 * passed, and the download is bounded in bytes, in idle time and in total time. A new
 * connection per request (no shared keep-alive pool), so no socket outlives the check it passed.
 */
export async function openHttpMedia(ref: string, method: 'GET' | 'HEAD', policy: MediaPolicy): Promise<HttpMedia> {
  let url: URL;
  try {
    url = new URL(ref);
  } catch {
    throw new CellInputError(`not a valid URL: ${redactRef(ref)}`, { ref: redactRef(ref) });
  }
  for (let hop = 0; ; hop++) {
    const what = hop === 0 ? ref : `${redactRef(ref)} -> redirect to ${redactRef(url.href)}`;
    policy.checkHttp(url, what);
    const res = await request(url, method, policy, what);
    const location = res.headers.location;
    if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location) {
      res.destroy();
      if (hop >= policy.maxRedirects)
        throw new CellInputError(`cannot read ${redactRef(ref)}: more than ${policy.maxRedirects} redirects (TESSERA_MEDIA_MAX_REDIRECTS)`, {
          ref: redactRef(ref),
        });
      url = new URL(location, url);
      continue;
    }
    const status = res.statusCode ?? 0;
    const length = Number(res.headers['content-length']);
    if (status === 200 && Number.isFinite(length) && length > policy.maxBytes) {
      res.destroy();
      throw tooLarge(ref, policy);
    }
    const retryAfter = Number(res.headers['retry-after']);
    const etag = res.headers.etag;
    const modified = res.headers['last-modified'];
    // a weak ETag (W/) still names the content a server would send for this URL now
    const validator = etag
      ? `etag:${etag}:${res.headers['content-length'] ?? ''}`
      : modified
        ? `modified:${modified}:${res.headers['content-length'] ?? ''}`
        : undefined;
    return {
      status,
      body: limited(res, ref, policy),
      ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
      ...(validator ? { validator } : {}),
    };
  }
}

function request(url: URL, method: string, policy: MediaPolicy, ref: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, {
      method,
      agent: false,
      lookup: policy.lookup,
      headers: { 'user-agent': 'tessera-media', 'accept-encoding': 'identity' },
      // names resolve through the policy's lookup; a literal address was checked by checkHttp
    });
    let responded = false;
    const timer = setTimeout(
      () =>
        req.destroy(
          new CellInputError(`cannot read ${redactRef(ref)}: no answer within ${policy.timeoutMs} ms (TESSERA_MEDIA_TIMEOUT_MS)`, { ref: redactRef(ref) }),
        ),
      policy.timeoutMs,
    );
    req.once('response', (res) => {
      responded = true;
      clearTimeout(timer);
      resolve(res);
    });
    req.once('error', (err) => {
      clearTimeout(timer);
      if (!responded) reject(classify(err, ref, url));
    });
    req.end();
  });
}

/** A failed connection as the queue should see it: bad input (a cell error) or worth a retry. */
function classify(err: Error, ref: string, url: URL): Error {
  if (err instanceof TesseraError) return err;
  if (err instanceof AddressRefused) return new MediaRefusedError(ref, err.message);
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const what = `cannot read ${redactRef(ref)}`;
  const details = { ref: redactRef(ref) };
  if (code === 'ENOTFOUND') return new CellInputError(`${what}: host ${url.hostname} not found`, details);
  if (code.startsWith('HPE_')) return new CellInputError(`${what}: ${url.host} did not answer with HTTP (${code})`, details);
  // a service that accepts the connection and closes it without a word (Redis, Postgres) is not an HTTP server
  if (code === 'ECONNRESET' && /socket hang up/.test(err.message))
    return new CellInputError(`${what}: ${url.host} closed the connection without an HTTP response`, details);
  // a reset (RST) before any response: the same server, or a network blip worth a retry
  if (code === 'ECONNRESET') return new TransientError(`${what}: ${url.host} closed the connection without an HTTP response (${code})`);
  if (/CERT|SSL|TLS/.test(code)) return new CellInputError(`${what}: TLS failed (${code})`, details);
  if (isTransientNetworkError(err)) return new TransientError(`${what}: ${code || err.message}`);
  return new CellInputError(`${what}: ${code || err.message}`, details);
}

const tooLarge = (ref: string, policy: MediaPolicy) =>
  new CellInputError(`cannot read ${redactRef(ref)}: larger than ${policy.maxBytes} bytes (TESSERA_MEDIA_MAX_BYTES)`, { ref: redactRef(ref) });

/** The response body, failing with a cell error when it grows over the size limit, stalls, or takes too long. */
function limited(res: http.IncomingMessage, ref: string, policy: MediaPolicy): Readable {
  const out = new PassThrough();
  let bytes = 0;
  let idle: NodeJS.Timeout | undefined;
  const fail = (err: Error) => {
    clearTimeout(idle);
    clearTimeout(total);
    res.destroy();
    out.destroy(err);
  };
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(
      () =>
        fail(
          new CellInputError(`cannot read ${redactRef(ref)}: the download stalled for ${policy.timeoutMs} ms (TESSERA_MEDIA_TIMEOUT_MS)`, {
            ref: redactRef(ref),
          }),
        ),
      policy.timeoutMs,
    );
  };
  const total = setTimeout(
    () =>
      fail(
        new CellInputError(`cannot read ${redactRef(ref)}: the download took longer than ${policy.downloadMs} ms (TESSERA_MEDIA_DOWNLOAD_MS)`, {
          ref: redactRef(ref),
        }),
      ),
    policy.downloadMs,
  );
  arm();
  res.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > policy.maxBytes) return fail(tooLarge(ref, policy));
    if (out.write(chunk)) return arm();
    // the consumer is behind: a pause on our side is not the server stalling
    clearTimeout(idle);
    res.pause();
    out.once('drain', () => {
      arm();
      res.resume();
    });
  });
  res.once('end', () => {
    clearTimeout(idle);
    clearTimeout(total);
    out.end();
  });
  res.once('error', (err) => fail(new TransientError(`cannot read ${redactRef(ref)}: ${err.message}`)));
  res.once('aborted', () => fail(new TransientError(`cannot read ${redactRef(ref)}: the connection was closed mid-download`)));
  // a consumer that stops reading (an error on its side) releases the connection
  out.once('close', () => {
    clearTimeout(idle);
    clearTimeout(total);
    if (!res.complete) res.destroy();
  });
  return out;
}
