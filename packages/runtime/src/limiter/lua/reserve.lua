--[[
  Reserve one request and ARGV[2] tokens from a provider+model bucket (GCRA, virtual scheduling).
  Timed by the Redis server clock so every host agrees.

  KEYS[1] bucket hash   (tat_r, tat_t: theoretical arrival times in ms; paused_until; learned_rpm/tpm;
                         limit_rpm/tpm/concurrency and utilization: what the last granted caller applied)
  KEYS[2] in-flight set (reservation id -> lease expiry), only used with a concurrency limit
  ARGV: id, tokens, rpm, tpm, maxConcurrency, maxWaitMs, leaseMs, utilization, idleTtlMs
  (a limit of 0 means "none configured")

  Returns {1, waitMs, startMs} when granted: the caller may start at startMs (after waiting waitMs);
          {0, waitMs, reason} when the wait would exceed maxWaitMs (reason 'rate' | 'pause' | 'concurrency').
]]
local now = server_now()

local id = ARGV[1]
local tokens = tonumber(ARGV[2])
local maxc = tonumber(ARGV[5])
local maxWait = tonumber(ARGV[6])
local lease = tonumber(ARGV[7])
local util = tonumber(ARGV[8])
local idleTtl = tonumber(ARGV[9])

local h = redis.call('HMGET', KEYS[1], 'tat_r', 'tat_t', 'paused_until', 'learned_rpm', 'learned_tpm')
local tat_r = tonumber(h[1]) or 0
local tat_t = tonumber(h[2]) or 0
local paused = tonumber(h[3]) or 0

local rpm = effective(ARGV[3], h[4], util)
local tpm = effective(ARGV[4], h[5], util)

local start = now
local reason = 'rate'
if paused > start then
  start = paused
  reason = 'pause'
end
if rpm > 0 and tat_r > start then
  start = tat_r
  reason = 'rate'
end
if tpm > 0 and tokens > 0 and tat_t > start then
  start = tat_t
  reason = 'rate'
end

local wait = start - now
if wait > maxWait then
  return {0, tostring(math.ceil(wait)), reason}
end

if maxc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= maxc then
    return {0, '-1', 'concurrency'}
  end
  redis.call('ZADD', KEYS[2], start + lease, id)
  redis.call('PEXPIRE', KEYS[2], math.ceil(wait + lease + idleTtl))
end

if rpm > 0 then
  tat_r = math.max(tat_r, start) + 60000 / rpm
end
if tpm > 0 and tokens > 0 then
  tat_t = math.max(tat_t, start) + tokens * 60000 / tpm
end
redis.call('HSET', KEYS[1], 'tat_r', tostring(tat_r), 'tat_t', tostring(tat_t))
-- the limits this caller applies (env, pipeline or code), for the dashboard to show
redis.call('HSET', KEYS[1], 'limit_rpm', ARGV[3], 'limit_tpm', ARGV[4], 'limit_concurrency', ARGV[5], 'utilization', ARGV[8])
local horizon = math.max(tat_r, tat_t, paused) - now
redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(horizon, 0) + idleTtl))
return {1, tostring(math.max(0, math.ceil(wait))), tostring(start)}
