--[[
  Block a bucket for the whole fleet: a 429 / retry-after was seen. Pauses only ever extend.
  KEYS[1] bucket hash; ARGV: pauseMs, idleTtlMs. Returns the pause end (Redis ms).
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local untilMs = now + tonumber(ARGV[1])
local paused = tonumber(redis.call('HGET', KEYS[1], 'paused_until')) or 0
if untilMs > paused then
  redis.call('HSET', KEYS[1], 'paused_until', tostring(untilMs))
  paused = untilMs
end
local ttl = redis.call('PTTL', KEYS[1])
local want = math.ceil(paused - now + tonumber(ARGV[2]))
if ttl < want then
  redis.call('PEXPIRE', KEYS[1], want)
end
return tostring(paused)
