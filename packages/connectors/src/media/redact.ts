import { redact } from '@tessera/core';

/**
 * A media reference as messages and logs may show it: core's redaction (no user:password, no query
 * string, where presigned URLs carry their signature), cut to a length a message can carry.
 */
export const redactRef = (ref: string): string => redact(ref, { maxLength: 300 });
