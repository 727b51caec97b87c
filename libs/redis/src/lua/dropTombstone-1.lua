--[[
  Removes a deleted document's hash once the sink has written the delete to PostgreSQL,
  unless a newer write has replaced it meanwhile. PostgreSQL's tombstone keeps the version floor.
  Input:
    KEYS[1] document hash key
    ARGV[1] version of the delete that was written
  Output:
    1 removed, 0 left alone
]]
local current = redis.call('HMGET', KEYS[1], 'v', 'x')
if current[2] == '1' and current[1] == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
