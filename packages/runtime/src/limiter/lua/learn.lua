--[[
  Learn limits from a provider's rate-limit headers.
  KEYS[1] bucket hash
  ARGV: limitRequests, limitTokens, remainingRequests, remainingTokens, resetRequestsMs, resetTokensMs, idleTtlMs
  (-1 = header absent). Limits are per minute. When a provider says nothing is left, the bucket
  pauses until its reset, for the whole fleet.
]]
local now = server_now()
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
local paused = extend_pause(KEYS[1], pauseUntil)
keep_for(KEYS[1], math.max(paused - now, 0) + idleTtl)
return 1
