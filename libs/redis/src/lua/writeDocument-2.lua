--[[
  Writes one document change: the document hash and its stream entry, in one atomic step,
  so Redis never holds one without the other.
  Input:
    KEYS[1] document hash key
    KEYS[2] partition stream key
    ARGV[1] op: 'put' or 'del'
    ARGV[2] document id
    ARGV[3] document JSON for 'put', '' for 'del'
    ARGV[4] expected version, '' for none: the write fails unless the document is live at it
    ARGV[5] what PostgreSQL holds, for when Redis has no hash: '' (not looked up yet)
            or '<version>:<1 if a live row, 0 if none or deleted>:<when it was read, ms since the epoch>'
    ARGV[6] now, milliseconds since the epoch
    ARGV[7] TTL of the hash in seconds, 0 for none
    ARGV[8] '1' to refuse when the document is live (create only)
  Output:
    the new version (> 0), or
    -1 not found: 'del' of a document that is not live
    -2 version mismatch: ARGV[4] given and not the live version
    -3 Redis has no hash for this id: look PostgreSQL up (again, if ARGV[5] was read too long ago) and call
       again with ARGV[5]
    -4 already exists: ARGV[8] is '1' and the document is live
]]
--- @include "includes/appendChange"

-- A floor read longer ago than this may predate a write whose hash has since gone (a tombstone lingers
-- TOMBSTONE_LINGER_S, libs/contracts/src/keys.ts, before the sink drops it): read it again.
local FLOOR_MAX_AGE_MS = 10000

local current = redis.call('HMGET', KEYS[1], 'v', 'x')
local version = tonumber(current[1])
local live
if version then
  live = current[2] ~= '1'
else
  if ARGV[5] == '' then
    return -3
  end
  local floorVersion, floorLive, readAt = string.match(ARGV[5], '^(%d+):([01]):(%d+)$')
  if tonumber(ARGV[6]) - tonumber(readAt) > FLOOR_MAX_AGE_MS then
    return -3
  end
  version = tonumber(floorVersion)
  live = floorLive == '1'
end

if ARGV[4] ~= '' and (not live or version ~= tonumber(ARGV[4])) then
  return -2
end
if ARGV[1] == 'del' and not live then
  return -1
end
if ARGV[8] == '1' and live then
  return -4
end

local nextVersion = version + 1
if ARGV[1] == 'put' then
  redis.call('HSET', KEYS[1], 'v', nextVersion, 'd', ARGV[3], 'x', '0')
else
  redis.call('HSET', KEYS[1], 'v', nextVersion, 'x', '1')
  redis.call('HDEL', KEYS[1], 'd')
end
local ttl = tonumber(ARGV[7])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
else
  redis.call('PERSIST', KEYS[1]) -- a write on a lingering tombstone keeps the document
end
appendChange(KEYS[2], ARGV[1], ARGV[2], nextVersion, ARGV[3], ARGV[6])
return nextVersion
