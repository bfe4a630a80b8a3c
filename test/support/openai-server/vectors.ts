import { createHash } from 'node:crypto';

/** A deterministic unit vector from the hash of `model` and `text`: tests can recompute it. */
export function deterministicEmbedding(text: string, dim: number, model = ''): number[] {
  const seed = createHash('sha256').update(model).update('\0').update(text).digest();
  let s = seed.readUInt32LE(0) ^ seed.readUInt32LE(4);
  const next = () => {
    // mulberry32
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const v = Array.from({ length: dim }, () => next() * 2 - 1);
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => Math.fround(x / norm));
}
