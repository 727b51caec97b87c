--[[
  Appends events of one partition, in the order given: each is stored under its id and gets its stream entry,
  atomically. An id Redis already holds (from an earlier call, or earlier in this one) is a duplicate and is not
  appended again.
  Input:
    KEYS[1]      the partition stream key
    KEYS[1 + i]  the event hash key of event i (all of the stream's partition, so of one Cluster slot)
    ARGV[1]      now, milliseconds since the epoch
    ARGV[2]      TTL of the hashes in seconds, 0 for none
    ARGV[1 + 2 * i], ARGV[2 + 2 * i]  event i: its id and its JSON
  Output:
    per event 1 appended, 0 duplicate
]]
--- @include "includes/appendChange"

local ttl = tonumber(ARGV[2])
local results = {}
for i = 1, #KEYS - 1 do
  local key, id, doc = KEYS[1 + i], ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  if redis.call('EXISTS', key) == 1 then
    results[i] = 0
  else
    redis.call('HSET', key, 'v', 1, 'd', doc, 'x', '0')
    if ttl > 0 then
      redis.call('EXPIRE', key, ttl)
    end
    appendChange(KEYS[1], 'evt', id, 1, doc, ARGV[1])
    results[i] = 1
  end
end
return results
