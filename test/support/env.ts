import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type TesseraConfig } from '@tessera/runtime';
import { mediaPolicyFromEnv, type MediaPolicy } from '@tessera/connectors';
import { PG_URL, REDIS_URL } from './services';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * What the tests' workers may read as media, set explicitly rather than by weakening the defaults:
 * fixtures in the repository, files the tests write under the temp directory, and the local servers
 * the tests start on 127.0.0.1 (the OpenAI-compatible server, plain web servers). The security suite
 * sets narrower ones of its own.
 */
export const TEST_MEDIA_ENV: Record<string, string> = {
  TESSERA_MEDIA_ROOTS: `${ROOT},${os.tmpdir()}`,
  TESSERA_MEDIA_ALLOW_ADDRESSES: '127.0.0.0/8,::1',
};

/** The media policy of TEST_MEDIA_ENV (or of a test config's env), for media contexts built in the test process. */
export function testMediaPolicy(env: Record<string, string> = TEST_MEDIA_ENV): MediaPolicy {
  return mediaPolicyFromEnv({ ...TEST_MEDIA_ENV, ...env });
}

/**
 * Each test file gets its own Postgres schema and Redis key prefix, so files never see each
 * other's catalog or queues (and nothing else using this Redis is touched).
 */
export function testConfig(overrides: Record<string, string> = {}): TesseraConfig & { env: Record<string, string> } {
  const id = randomBytes(4).toString('hex');
  const env = {
    TESSERA_DATABASE_URL: PG_URL,
    TESSERA_REDIS_URL: REDIS_URL,
    TESSERA_SCHEMA: `t_${id}`,
    TESSERA_QUEUE_PREFIX: `tt-${id}`,
    TESSERA_BATCH_SIZE: '100',
    TESSERA_LOCK_MS: '4000',
    TESSERA_JOB_ATTEMPTS: '8',
    TESSERA_MEDIA_DESTINATION: `/tmp/tessera-test-${id}/media`,
    TESSERA_MEDIA_CACHE_DIR: `/tmp/tessera-test-${id}/cache`,
    TESSERA_LOG_LEVEL: 'warn',
    ...TEST_MEDIA_ENV,
    // tests that count what `reconcile` enqueues run it themselves; the self-heal tests turn the fleet's on
    TESSERA_RECONCILE_EVERY_MS: '0',
    ...overrides,
  };
  return { ...loadConfig(env), env };
}

/**
 * For worker processes whose model calls a test counts exactly and none of which is killed: a lock
 * long enough that a loaded machine's pauses never hand a live job to a second worker (which would
 * ask the model again).
 */
export const EXACT_CALLS_ENV: Record<string, string> = { TESSERA_LOCK_MS: '30000' };
