--[[
  Helpers every limiter script starts with (scripts.ts puts this file before each script's body).
]]

-- the Redis server's clock in ms, so every host agrees
local function server_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

-- the tighter of the configured and the learned limit, scaled to the share the fleet aims to use
local function effective(configured, learned, util)
  local c = tonumber(configured) or 0
  local l = tonumber(learned) or 0
  local v = c
  if l > 0 and (v <= 0 or l < v) then v = l end
  return v * util
end

-- pause a bucket until untilMs for the whole fleet; pauses only ever extend. Returns the pause end.
local function extend_pause(key, untilMs)
  local paused = tonumber(redis.call('HGET', key, 'paused_until')) or 0
  if untilMs > paused then
    redis.call('HSET', key, 'paused_until', tostring(untilMs))
    paused = untilMs
  end
  return paused
end

-- keep a key at least wantMs longer (never shorten what another caller set)
local function keep_for(key, wantMs)
  local want = math.ceil(wantMs)
  if redis.call('PTTL', key) < want then redis.call('PEXPIRE', key, want) end
end
