import { readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { CellInputError } from '@tessera/core';
import type { ModelUdfContext } from './context';
import { sniffImage, type ImageInfo } from './image-info';

export interface LoadedMedia {
  bytes: Buffer;
  /** sha256 of the bytes: what the response cache keys on, not the URL */
  sha256: string;
  path: string;
}

/**
 * Media sent inline to a model, at most (TESSERA_MAX_MODEL_MEDIA_BYTES): above every provider's own
 * limit (OpenAI takes 20 MB images and 25 MB audio), and what a worker holds three times over while it
 * sends one (the bytes, their base64, the request body), where a 2 GB download would exhaust it.
 */
const maxModelMediaBytes = () => Number(process.env.TESSERA_MAX_MODEL_MEDIA_BYTES) || 64 * 1024 ** 2;

/** Read a media cell's bytes through the media context (downloaded and cached when remote). */
export async function loadMedia(ctx: ModelUdfContext, ref: string, what: string): Promise<LoadedMedia> {
  if (typeof ref !== 'string' || !ref) throw new CellInputError(`${what}: no media reference`);
  const path = await ctx.media.localPath(ref);
  let bytes: Buffer;
  try {
    const { size } = await stat(path);
    const max = maxModelMediaBytes();
    if (size > max) throw new CellInputError(`${what}: ${ref} is ${size} bytes, more than ${max} (TESSERA_MAX_MODEL_MEDIA_BYTES)`);
    bytes = await readFile(path);
  } catch (e) {
    if (e instanceof CellInputError) throw e;
    throw new CellInputError(`${what}: cannot read ${ref}`);
  }
  if (bytes.length === 0) throw new CellInputError(`${what}: ${ref} is empty`);
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), path };
}

/** An image as a data URL (how the chat API takes inline images). */
export function imageDataUrl(m: LoadedMedia, what: string): { url: string; info: ImageInfo } {
  const info = sniffImage(m.bytes);
  if (!info) throw new CellInputError(`${what}: not a PNG, JPEG, GIF or WebP image`);
  return { url: `data:${info.mime};base64,${m.bytes.toString('base64')}`, info };
}
