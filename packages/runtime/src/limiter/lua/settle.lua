--[[
  Settle a reservation: free its concurrency slot and correct the token bucket by
  (actual - estimated) tokens, refunding what the call did not use (or charging the overrun).
  With ARGV[6] = 1 the request was never sent: its request slot is returned, but only when it is
  still the last one handed out (returning an earlier slot would let a new caller collide with a
  slot already given to someone else).

  KEYS[1] bucket hash, KEYS[2] in-flight set
  ARGV: id, estimatedTokens, actualTokens, tpm, utilization, refundRequest, rpm, slotStartMs
]]
redis.call('ZREM', KEYS[2], ARGV[1])

local est = tonumber(ARGV[2])
local actual = tonumber(ARGV[3])
local util = tonumber(ARGV[5])
local h = redis.call('HMGET', KEYS[1], 'tat_r', 'tat_t', 'learned_rpm', 'learned_tpm')
if not h[1] and not h[2] then
  return 0
end

local tpm = effective(ARGV[4], h[4], util)
local rpm = effective(ARGV[7], h[3], util)

if tpm > 0 and actual ~= est then
  local tat_t = (tonumber(h[2]) or 0) + (actual - est) * 60000 / tpm
  redis.call('HSET', KEYS[1], 'tat_t', tostring(tat_t))
end
if ARGV[6] == '1' and rpm > 0 then
  local tat_r = tonumber(h[1]) or 0
  local start = tonumber(ARGV[8])
  if math.abs(tat_r - (start + 60000 / rpm)) < 0.5 then
    redis.call('HSET', KEYS[1], 'tat_r', tostring(start))
  end
end
return 1
