--[[
  Writes one document change: the document hash and its stream entry, so Redis never holds one without the other.
  Input:
    docKey     document hash key
    stream     partition stream key
    op         'put' or 'del'
    id         document id
    doc        document JSON for 'put', '' for 'del'
    expected   expected version, '' for none: the write fails unless the document is live at it
    floor      what PostgreSQL holds, for when Redis has no hash: '' (not looked up yet)
               or '<version>:<1 if a live row, 0 if none or deleted>:<when it was read, ms since the epoch>'
    now        milliseconds since the epoch
    ttl        TTL of the hash in seconds, 0 for none
    createOnly '1' to refuse when the document is live
  Output:
    the new version (> 0), or
    -1 not found: 'del' of a document that is not live
    -2 version mismatch: expected given and not the live version
    -3 Redis has no hash for this id: look PostgreSQL up (again, if floor was read too long ago) and call
       again with floor
    -4 already exists: createOnly is '1' and the document is live
]]
--- @include "includes/appendChange"

-- A floor read longer ago than this may predate a write whose hash has since gone (a tombstone lingers
-- TOMBSTONE_LINGER_S, libs/contracts/src/keys.ts, before the sink drops it): read it again.
local FLOOR_MAX_AGE_MS = 10000

local function writeChange(docKey, stream, op, id, doc, expected, floor, now, ttl, createOnly)
  local current = redis.call('HMGET', docKey, 'v', 'x')
  local version = tonumber(current[1])
  local live
  if version then
    live = current[2] ~= '1'
  else
    if floor == '' then
      return -3
    end
    local floorVersion, floorLive, readAt = string.match(floor, '^(%d+):([01]):(%d+)$')
    if tonumber(now) - tonumber(readAt) > FLOOR_MAX_AGE_MS then
      return -3
    end
    version = tonumber(floorVersion)
    live = floorLive == '1'
  end

  if expected ~= '' and (not live or version ~= tonumber(expected)) then
    return -2
  end
  if op == 'del' and not live then
    return -1
  end
  if createOnly == '1' and live then
    return -4
  end

  local nextVersion = version + 1
  if op == 'put' then
    redis.call('HSET', docKey, 'v', nextVersion, 'd', doc, 'x', '0')
  else
    redis.call('HSET', docKey, 'v', nextVersion, 'x', '1')
    redis.call('HDEL', docKey, 'd')
  end
  if tonumber(ttl) > 0 then
    redis.call('EXPIRE', docKey, ttl)
  else
    redis.call('PERSIST', docKey) -- a write on a lingering tombstone keeps the document
  end
  appendChange(stream, op, id, nextVersion, doc, now)
  return nextVersion
end
