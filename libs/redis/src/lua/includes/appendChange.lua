--[[
  Appends one change entry to a partition stream (fields from libs/contracts/src/streams.ts).
  Input: stream key, op, id, version, document JSON ('' for a delete), now in ms.
  Output: the entry id.
]]
local function appendChange(stream, op, id, version, doc, now)
  if doc == '' then
    return redis.call('XADD', stream, '*', 'sv', '1', 'op', op, 'id', id, 'v', version, 'ts', now)
  end
  return redis.call('XADD', stream, '*', 'sv', '1', 'op', op, 'id', id, 'v', version, 'd', doc, 'ts', now)
end
