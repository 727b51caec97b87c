--[[
  Lets a deleted document's hash expire once the sink has written the delete to PostgreSQL, unless a newer
  write has replaced it meanwhile. The hash lingers a while instead of going at once: a writer that read
  PostgreSQL's version floor just before the delete landed there must still find the hash, not use that floor.
  Input:
    KEYS[1] document hash key
    ARGV[1] version of the delete that was written
    ARGV[2] seconds the tombstone lingers
  Output:
    1 expiring, 0 left alone
]]
local current = redis.call('HMGET', KEYS[1], 'v', 'x')
if current[2] == '1' and current[1] == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
