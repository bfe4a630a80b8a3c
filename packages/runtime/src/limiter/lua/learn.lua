--[[
  Learn limits from a provider's rate-limit headers.
  KEYS[1] bucket hash
  ARGV: limitRequests, limitTokens, remainingRequests, remainingTokens, resetRequestsMs, resetTokensMs, idleTtlMs
  (-1 = header absent). Limits are per minute. When a provider says nothing is left, the bucket
  pauses until its reset, for the whole fleet.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limR = tonumber(ARGV[1])
local limT = tonumber(ARGV[2])
local remR = tonumber(ARGV[3])
local remT = tonumber(ARGV[4])
local resetR = tonumber(ARGV[5])
local resetT = tonumber(ARGV[6])
local idleTtl = tonumber(ARGV[7])

if limR > 0 then redis.call('HSET', KEYS[1], 'learned_rpm', ARGV[1]) end
if limT > 0 then redis.call('HSET', KEYS[1], 'learned_tpm', ARGV[2]) end

local pauseUntil = 0
if remR == 0 and resetR > 0 then pauseUntil = now + resetR end
if remT == 0 and resetT > 0 and now + resetT > pauseUntil then pauseUntil = now + resetT end
local paused = tonumber(redis.call('HGET', KEYS[1], 'paused_until')) or 0
if pauseUntil > paused then
  redis.call('HSET', KEYS[1], 'paused_until', tostring(pauseUntil))
  paused = pauseUntil
end
local ttl = redis.call('PTTL', KEYS[1])
local want = math.ceil(math.max(paused - now, 0) + idleTtl)
if ttl < want then redis.call('PEXPIRE', KEYS[1], want) end
return 1
