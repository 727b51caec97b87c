--[[
  Appends one event: stores it under its id and adds its stream entry, atomically.
  An id already held in Redis is a duplicate and is not appended again.
  Input:
    KEYS[1] event hash key
    KEYS[2] partition stream key
    ARGV[1] event id
    ARGV[2] event JSON
    ARGV[3] now, milliseconds since the epoch
    ARGV[4] TTL of the hash in seconds, 0 for none
  Output:
    1 appended, 0 duplicate
]]
--- @include "includes/appendChange"

if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'v', 1, 'd', ARGV[2], 'x', '0')
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
end
appendChange(KEYS[2], 'evt', ARGV[1], 1, ARGV[2], ARGV[3])
return 1
