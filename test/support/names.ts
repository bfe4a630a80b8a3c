import { createHash, randomBytes } from 'node:crypto';

/** A short random hex id, so a test's schemas, tables and keys never meet another run's. */
export const uniqueId = (bytes = 3): string => randomBytes(bytes).toString('hex');

/** `<prefix>_<id>`: a name of the test's own (a customer schema, a table). */
export const uniqueName = (prefix: string, bytes = 3): string => `${prefix}_${uniqueId(bytes)}`;

/** sha256 of the bytes, hex: how generated media is named. */
export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
