import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * Claim up to N waiting jobs of a queue in one call, as BullMQ's moveToActive does one at a time
 * (bullmq 6.x key layout): each id moves from the wait list to the active list, gets a lock with
 * the caller's token and an `active` event, its processedOn and attempts-started counter. Jobs so
 * claimed are ordinary active jobs: they are completed or failed with BullMQ's own
 * moveToCompleted / moveToFailed, and if the claimer dies their locks lapse and BullMQ's stalled
 * check (run by the queue's regular Worker) puts them back in the wait list. A paused queue gives
 * nothing. As moveToActive, a claim takes waiting jobs first, then prioritized ones (lowest
 * priority number first), so a producer that sets priorities is served in bulk too; delayed jobs
 * are left to the regular Worker, whose fetch promotes them when due. The queue's own limits hold
 * as they do for moveToActive: a global concurrency (Queue.setGlobalConcurrency) caps the active
 * list, a global rate limit (Queue.setGlobalRateLimit) counts each job started in the limiter key.
 *
 * Redis is the one part the whole fleet shares, so the script spends as few commands per job as
 * it can: the ids leave the wait list in one LRANGE + LTRIM and enter the active list in one LPUSH
 * (in the order one RPOPLPUSH each would leave them), and the attempts-started counter is written
 * from the hash the claim reads anyway; per job remain the read, the lock, the event and one HSET.
 *
 * The reply is one JSON string, `[id, [field, value, ...], id, [...], ...]`: each job's hash as it
 * was read, before the claim stamped it (the caller applies the stamp, see claimJobs). A worker
 * parses it natively in one go, where a nested array reply of a few hundred jobs costs it a reply
 * object per field; and the arrays cost the script no Lua table per job (building one was about a
 * fifth of the script's time per job).
 *
 * A claim also stops at a budget of bytes (its jobs' hashes, as read), so a stream of large jobs
 * (documents sent inline) is claimed a few at a time: 500 jobs of 1 MB in one reply held the
 * worker's heap at 3.7 GB and starved its lock renewals, and BullMQ failed jobs as stalled. It takes
 * one job whatever its size, so a large one is never left behind.
 *
 * KEYS: wait, active, meta, events, limiter, prioritized, priority counter. ARGV: key prefix
 * (`<prefix>:<queue>:`), timestamp, token, lock ms, max jobs (at most 1,000), worker name, max
 * bytes (0: no budget).
 */
const CLAIM = `
local rcall = redis.call
local meta = rcall("HMGET", KEYS[3], "paused", "concurrency", "max", "duration", "opts.maxLenEvents")
if meta[1] then return "[]" end
local maxEvents = tonumber(meta[5] or 10000)
local max = tonumber(ARGV[5])
if meta[2] then max = math.min(max, tonumber(meta[2]) - rcall("LLEN", KEYS[2])) end
local rateMax = tonumber(meta[3])
if rateMax then
  local started = tonumber(rcall("GET", KEYS[5]) or 0)
  if started >= rateMax then
    if rcall("PTTL", KEYS[5]) > 0 then return "[]" end
    rcall("DEL", KEYS[5])
    started = 0
  end
  max = math.min(max, rateMax - started)
end
-- a claim's ids go to LPUSH in one call, within Lua's unpack limit
max = math.min(max, 1000)
if max <= 0 then return "[]" end
-- the candidates, oldest first: the wait list's tail (where RPOPLPUSH would take them one by one),
-- then prioritized jobs by score; they leave their list once the claim knows how many it takes
local taken = rcall("LRANGE", KEYS[1], -max, -1)
local ids = {}
for t = #taken, 1, -1 do ids[#ids + 1] = taken[t] end
if #ids < max then
  local prioritized = rcall("ZRANGE", KEYS[6], 0, max - #ids - 1)
  for p = 1, #prioritized do ids[#ids + 1] = prioritized[p] end
end
if #ids == 0 then return "[]" end
local budget = tonumber(ARGV[7])
local bytes = 0
local used = 0
local claimed = {}
local pushed = {}
local counted = 0
for _, jobId in ipairs(ids) do
  -- "0:..." entries are markers of older BullMQ versions, not jobs
  if string.sub(jobId, 1, 2) ~= "0:" then
    local jobKey = ARGV[1] .. jobId
    local flat = rcall("HGETALL", jobKey)
    -- the attempts-started counter (and, under a rate limit, a deferred failure) from the flat reply:
    -- no Lua table of the hash is built, the worker makes its object from the same array
    local started = 0
    local deferred = false
    local size = 0
    for f = 1, #flat, 2 do
      local name = flat[f]
      size = size + #flat[f + 1]
      if name == "ats" then started = tonumber(flat[f + 1]) or 0 elseif name == "defa" then deferred = true end
    end
    -- the claim's bytes stay within the budget, but it takes one job however large
    if budget > 0 and #pushed > 0 and bytes + size > budget then break end
    bytes = bytes + size
    rcall("SET", jobKey .. ":lock", ARGV[3], "PX", ARGV[4])
    rcall("XADD", KEYS[4], "MAXLEN", "~", maxEvents, "*", "event", "active", "jobId", jobId, "prev", "waiting")
    rcall("HSET", jobKey, "processedOn", ARGV[2], "pb", ARGV[6], "ats", started + 1)
    if rateMax and not deferred then counted = counted + 1 end
    pushed[#pushed + 1] = jobId
    claimed[#claimed + 1] = jobId
    claimed[#claimed + 1] = flat
  end
  used = used + 1
end
-- what the claim took (markers included) leaves the wait list, then the prioritized set
local fromWait = math.min(used, #taken)
if fromWait > 0 then rcall("LTRIM", KEYS[1], 0, -fromWait - 1) end
if used > fromWait then
  rcall("ZREMRANGEBYRANK", KEYS[6], 0, used - fromWait - 1)
  -- the counter that keeps jobs of one priority in order restarts once none is left (as in BullMQ)
  if rcall("ZCARD", KEYS[6]) == 0 then rcall("DEL", KEYS[7]) end
end
-- in the order RPOPLPUSH would have left them: the oldest job deepest
if #pushed > 0 then rcall("LPUSH", KEYS[2], unpack(pushed)) end
if counted > 0 and rcall("INCRBY", KEYS[5], counted) == counted then
  rcall("PEXPIRE", KEYS[5], math.floor(math.abs(tonumber(meta[4]) or 0)))
end
if #claimed == 0 then return "[]" end
return cjson.encode(claimed)
`;

/**
 * Extend the locks of jobs held with one token (as BullMQ's extendLocks does): a lock still ours
 * gets lockMs more and the job leaves the stalled set. Returns the ids whose lock was lost.
 * KEYS: stalled. ARGV: key prefix, token, lock ms, ids...
 */
const EXTEND = `
local lost = {}
for i = 4, #ARGV do
  local lockKey = ARGV[1] .. ARGV[i] .. ":lock"
  if redis.call("GET", lockKey) == ARGV[2] then
    redis.call("SET", lockKey, ARGV[2], "PX", ARGV[3])
    redis.call("SREM", KEYS[1], ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
`;

/**
 * Complete jobs held with one token, as BullMQ's moveToFinished does for a job without parent or
 * deduplication id (the caller completes others with Job.moveToCompleted): the lock must still be
 * ours, the job leaves the active list, its attempts-made grows, it is kept in the completed set
 * with its return value or removed (removeOnComplete), and a `completed` event is emitted.
 * Returns the ids not completed (lock lost, or no longer active).
 *
 * Leaving the active list: an LREM per job scans the list from one end, past every job other
 * claims hold (with W workers holding H jobs each, about W x H / 2 entries per job), which made it
 * the costliest command of a stream and one that grows with the fleet. The jobs of one claim sit
 * side by side in the list (the claim pushed them in one atomic call, and the list only loses
 * entries in between), so for a batch the script finds one of them (one scan), reads the claim's
 * span around it, overwrites the batch's entries with a marker and removes the markers in one
 * scan. A job not found in that span (or a small batch, where reading the span costs more) is
 * removed on its own, as before.
 *
 * Jobs kept under the worker's bound (a producer that said nothing: BullMQ would keep them all,
 * and a stream would fill Redis) leave at most `max kept` jobs in the completed set: the oldest
 * beyond it are removed, at most 1,000 per call (a backlog goes over several calls), as BullMQ's
 * removeOnComplete { count } does.
 *
 * Commands that take many keys or members (the locks read and deleted, the stalled set, the
 * completed set, the removed jobs' keys) are sent once per batch rather than once per job.
 *
 * KEYS: active, stalled, completed, events, meta, wait, prioritized. ARGV: key prefix, token,
 * timestamp, jobs the token claimed, max kept, then id, return value (JSON), keep ("1" keep, "2"
 * keep within max kept, "0" remove), attempts made (the count this attempt makes, which the lock
 * guarantees nobody else changed) for each job.
 */
const COMPLETE = `
local rcall = redis.call
-- commands over many keys or members, in calls of at most 1,000 (Lua's unpack limit)
local function inChunks(command, key, list)
  for i = 1, #list, 1000 do
    local last = math.min(i + 999, #list)
    if key then rcall(command, key, unpack(list, i, last)) else rcall(command, unpack(list, i, last)) end
  end
end
-- a removed job's hash and the keys BullMQ keeps beside it
local function jobKeys(list, k)
  local n = #list
  list[n + 1] = k
  list[n + 2] = k .. ":logs"
  list[n + 3] = k .. ":dependencies"
  list[n + 4] = k .. ":processed"
  list[n + 5] = k .. ":failed"
  list[n + 6] = k .. ":unsuccessful"
end
local maxEvents = tonumber(rcall("HGET", KEYS[5], "opts.maxLenEvents") or 10000)
local lockKeys = {}
for i = 6, #ARGV, 4 do lockKeys[#lockKeys + 1] = ARGV[1] .. ARGV[i] .. ":lock" end
local locks = {}
for i = 1, #lockKeys, 1000 do
  local got = rcall("MGET", unpack(lockKeys, i, math.min(i + 999, #lockKeys)))
  for j = 1, #got do locks[#locks + 1] = got[j] end
end
local skipped = {}
local ours = {}
local first
local n = 0
for i = 6, #ARGV, 4 do
  if locks[(i - 2) / 4] == ARGV[2] then
    ours[ARGV[i]] = false
    first = first or ARGV[i]
    n = n + 1
  end
end
local claimed = tonumber(ARGV[4])
if n >= 8 and n * 8 >= claimed then
  local pos = rcall("LPOS", KEYS[1], first, "RANK", -1)
  if pos then
    local lo = math.max(0, pos - claimed + 1)
    local span = rcall("LRANGE", KEYS[1], lo, pos + claimed - 1)
    local marker = "0:tessera-completed:" .. ARGV[2]
    local marked = 0
    for j = 1, #span do
      if ours[span[j]] == false then
        rcall("LSET", KEYS[1], lo + j - 1, marker)
        ours[span[j]] = true
        marked = marked + 1
      end
    end
    -- from the nearer end: the scan stops at the last marker
    local dir = (pos * 2 < rcall("LLEN", KEYS[1])) and marked or -marked
    if marked > 0 then rcall("LREM", KEYS[1], dir, marker) end
  end
end
local done = {}
local doneLocks = {}
local kept = {}
local removed = {}
local bounded = false
for i = 6, #ARGV, 4 do
  local jobId = ARGV[i]
  local jobKey = ARGV[1] .. jobId
  local gone = ours[jobId]
  if gone == false then gone = rcall("LREM", KEYS[1], -1, jobId) > 0 end
  if not gone then
    skipped[#skipped + 1] = jobId
  else
    done[#done + 1] = jobId
    doneLocks[#doneLocks + 1] = lockKeys[(i - 2) / 4]
    if ARGV[i + 2] ~= "0" then
      kept[#kept + 1] = ARGV[3]
      kept[#kept + 1] = jobId
      rcall("HSET", jobKey, "returnvalue", ARGV[i + 1], "finishedOn", ARGV[3], "atm", ARGV[i + 3])
      if ARGV[i + 2] == "2" then bounded = true end
    else
      jobKeys(removed, jobKey)
    end
    rcall("XADD", KEYS[4], "MAXLEN", "~", maxEvents, "*", "event", "completed", "jobId", jobId, "returnvalue", ARGV[i + 1], "prev", "active")
  end
end
inChunks("DEL", nil, doneLocks)
inChunks("SREM", KEYS[2], done)
inChunks("ZADD", KEYS[3], kept)
local maxKept = tonumber(ARGV[5])
if bounded and maxKept >= 0 then
  local excess = math.min(rcall("ZCARD", KEYS[3]) - maxKept, 1000)
  if excess > 0 then
    local old = rcall("ZRANGE", KEYS[3], 0, excess - 1)
    for _, id in ipairs(old) do jobKeys(removed, ARGV[1] .. id) end
    rcall("ZREM", KEYS[3], unpack(old))
  end
end
inChunks("DEL", nil, removed)
if rcall("LLEN", KEYS[6]) == 0 and rcall("LLEN", KEYS[1]) == 0 and rcall("ZCARD", KEYS[7]) == 0 then
  rcall("XADD", KEYS[4], "MAXLEN", "~", maxEvents, "*", "event", "drained")
end
return skipped
`;

export interface ClaimCommands {
  tesseraCompleteJobs(
    active: string,
    stalled: string,
    completed: string,
    events: string,
    meta: string,
    wait: string,
    prioritized: string,
    ...args: Array<string | number>
  ): Promise<string[]>;
  tesseraClaimJobs(
    wait: string,
    active: string,
    meta: string,
    events: string,
    limiter: string,
    prioritized: string,
    priorityCounter: string,
    ...args: Array<string | number>
  ): Promise<string>;
  tesseraExtendLocks(stalled: string, ...args: Array<string | number>): Promise<string[]>;
}

/** The claim, extend and complete scripts as commands of this connection (sent by SHA once loaded). */
export function defineClaimCommands(redis: Redis): Redis & ClaimCommands {
  redis.defineCommand('tesseraClaimJobs', { numberOfKeys: 7, lua: CLAIM });
  redis.defineCommand('tesseraExtendLocks', { numberOfKeys: 1, lua: EXTEND });
  redis.defineCommand('tesseraCompleteJobs', { numberOfKeys: 7, lua: COMPLETE });
  return redis as Redis & ClaimCommands;
}

/** A claimed job: its id and its hash as the claim left it (field -> value). */
export interface ClaimedJob {
  id: string;
  hash: Record<string, string>;
}

/** Claim up to `max` waiting jobs of `queue` (and about `maxBytes` of them) with `token`, locked for `lockMs`, stamped `worker` (see CLAIM). */
export async function claimJobs(
  redis: Redis & ClaimCommands,
  queue: Queue,
  claim: { token: string; lockMs: number; max: number; worker: string; maxBytes?: number },
): Promise<ClaimedJob[]> {
  const k = queue.keys;
  const now = Date.now();
  const reply = await redis.tesseraClaimJobs(
    k.wait!,
    k.active!,
    k.meta!,
    k.events!,
    k.limiter!,
    k.prioritized!,
    k.pc!,
    queue.toKey(''),
    now,
    claim.token,
    claim.lockMs,
    claim.max,
    claim.worker,
    claim.maxBytes ?? 0,
  );
  const flat = JSON.parse(reply) as Array<string | string[]>;
  const processedOn = String(now);
  const jobs: ClaimedJob[] = new Array(flat.length / 2);
  for (let j = 0; j < flat.length; j += 2) {
    // a job whose hash vanished comes back as an empty Lua table, which cjson writes as {}
    const fields = Array.isArray(flat[j + 1]) ? (flat[j + 1] as string[]) : [];
    const hash: Record<string, string> = {};
    for (let f = 0; f < fields.length; f += 2) hash[fields[f]!] = fields[f + 1]!;
    // the job as the claim left it
    hash.processedOn = processedOn;
    hash.pb = claim.worker;
    hash.ats = String((Number.parseInt(hash.ats ?? '0', 10) || 0) + 1);
    jobs[j / 2] = { id: flat[j] as string, hash };
  }
  return jobs;
}

export interface Completion {
  id: string;
  /** the processor's result, as JSON */
  returnvalue: string;
  /** kept in the completed set (else removed, removeOnComplete) */
  keep: boolean;
  /** kept within the bound `completeJobs` is given (the worker's default for producers that said nothing) */
  bounded?: boolean;
  /** attempts made, this one included */
  attemptsMade: number;
}

/**
 * Complete jobs held with `token`, a claim of `claimed` jobs (see COMPLETE); jobs kept `bounded`
 * leave at most `maxKept` jobs in the completed set. Returns the ids not completed.
 */
export function completeJobs(redis: Redis & ClaimCommands, queue: Queue, token: string, claimed: number, jobs: Completion[], maxKept = -1): Promise<string[]> {
  const k = queue.keys;
  const args: Array<string | number> = [maxKept];
  for (const j of jobs) args.push(j.id, j.returnvalue, j.keep ? (j.bounded ? '2' : '1') : '0', j.attemptsMade);
  return redis.tesseraCompleteJobs(
    k.active!,
    k.stalled!,
    k.completed!,
    k.events!,
    k.meta!,
    k.wait!,
    k.prioritized!,
    queue.toKey(''),
    token,
    Date.now(),
    claimed,
    ...args,
  );
}
