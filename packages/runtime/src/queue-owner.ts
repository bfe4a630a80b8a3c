import type { Redis } from 'ioredis';
import { ConfigError } from '@tessera/core';

/** How long a prefix stays bound to a record after its last claim (workers renew it while they run). */
export const QUEUE_CLAIM_MS = 3600_000;

export interface RecordIdentity {
  /** the record's id (store.recordId) */
  id: string;
  schema: string;
  /** where the record is, for the message (credentials redacted) */
  database: string;
}

/**
 * Take or renew the prefix for this record; returns the other record's identity when it is taken.
 * A claim naming this very schema and database with another id was made by a record since dropped
 * and made again there (a reset): that one is gone, so the claim passes to this one.
 */
const CLAIM = `
local current = redis.call('GET', KEYS[1])
if current then
  local other = cjson.decode(current)
  if other.id ~= ARGV[2] and (other.schema ~= ARGV[4] or other.database ~= ARGV[5]) then return current end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return false
`;

/**
 * Bind a queue prefix in Redis to one Tessera record. Jobs name their pipeline and table but not
 * their record, so two records (two schemas, or two databases) sharing a prefix would mix their
 * work: a producer's rows for one inserted into the other, each fleet computing the other's
 * batches against its own tables. The first record to claim a prefix keeps it while its workers
 * run (they renew the claim) and for QUEUE_CLAIM_MS after; another is refused with what to do.
 */
export async function claimQueuePrefix(redis: Redis, prefix: string, record: RecordIdentity): Promise<void> {
  const key = `${prefix}:record`;
  const taken = (await redis.eval(CLAIM, 1, key, JSON.stringify(record), record.id, QUEUE_CLAIM_MS, record.schema, record.database)) as string | null;
  if (!taken) return;
  const other = JSON.parse(taken) as RecordIdentity;
  throw new ConfigError(
    `queue prefix "${prefix}" (TESSERA_QUEUE_PREFIX) serves another Tessera record: schema "${other.schema}" in ${other.database}, ` +
      `not schema "${record.schema}" in ${record.database}. Sharing it would mix the two records' work. ` +
      `Give each record its own TESSERA_QUEUE_PREFIX; if that record is gone, its claim lapses an hour after its last worker stopped (or delete the Redis key ${key}).`,
  );
}
