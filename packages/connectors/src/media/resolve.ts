import { ConfigError, type MediaStore } from '@tessera/core';
import { schemeOf } from '../url';
import { LocalMediaStore } from './local-store';
import { HttpMediaStore } from './http-store';
import { S3MediaStore } from './s3-store';
import { GcsMediaStore } from './gcs-store';
import { AzureMediaStore, isAzureHttpsUrl } from './azure-store';
import type { MediaPolicy } from './policy';

export type MediaStoreResolver = (url: string) => MediaStore;

/**
 * Picks the store for a URL by its scheme; Azure's https URLs go to the Azure store.
 * Cloud clients are built on first use, so a worker that never touches S3 never loads its credentials.
 * http(s) reads go through `policy` (by default the media policy from the environment).
 */
export function createMediaStoreResolver(stores: MediaStore[] = [], policy?: MediaPolicy): MediaStoreResolver {
  const byScheme = new Map<string, MediaStore>();
  for (const s of stores) for (const scheme of s.schemes) byScheme.set(scheme, s);
  const defaults: Record<string, () => MediaStore> = {
    file: () => new LocalMediaStore(),
    http: () => new HttpMediaStore(policy),
    https: () => new HttpMediaStore(policy),
    s3: () => new S3MediaStore(),
    gs: () => new GcsMediaStore(),
    az: () => new AzureMediaStore(),
  };
  const get = (scheme: string): MediaStore => {
    let store = byScheme.get(scheme);
    if (!store) {
      const make = defaults[scheme];
      if (!make) throw new ConfigError(`no media store for scheme ${scheme}:// (supported: file, s3, gs, az, http, https)`);
      store = make();
      for (const sc of store.schemes) if (!byScheme.has(sc)) byScheme.set(sc, store);
    }
    return store;
  };
  return (url) => get(isAzureHttpsUrl(url) ? 'az' : schemeOf(url));
}

let shared: MediaStoreResolver | undefined;

/** The process-wide resolver with the default stores (configured from the environment). */
export function mediaStoreFor(url: string): MediaStore {
  shared ??= createMediaStoreResolver();
  return shared(url);
}
