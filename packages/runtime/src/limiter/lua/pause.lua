--[[
  Block a bucket for the whole fleet: a 429 / retry-after was seen. Pauses only ever extend.
  KEYS[1] bucket hash; ARGV: pauseMs, idleTtlMs. Returns the pause end (Redis ms).
]]
local now = server_now()
local paused = extend_pause(KEYS[1], now + tonumber(ARGV[1]))
keep_for(KEYS[1], paused - now + tonumber(ARGV[2]))
return tostring(paused)
