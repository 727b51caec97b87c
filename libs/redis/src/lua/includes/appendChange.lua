--[[
  Appends one change entry to a partition stream, in the layout of ENTRY_SCHEMA_VERSION 2
  (libs/contracts/src/streams.ts): a header `2 <op> <id> <version> <now>` and, unless it is a delete, the document.
  Input: stream key, op, id, version, document JSON ('' for a delete), now in ms.
  Output: the entry id.
]]
local function appendChange(stream, op, id, version, doc, now)
  local header = '2 ' .. op .. ' ' .. id .. ' ' .. string.format('%d', version) .. ' ' .. now
  if doc == '' then
    return redis.call('XADD', stream, '*', 'h', header)
  end
  return redis.call('XADD', stream, '*', 'h', header, 'd', doc)
end
