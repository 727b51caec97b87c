--[[
  Appends one change entry to a partition stream, in the layout of ENTRY_SCHEMA_VERSION 3
  (libs/contracts/src/streams.ts): one field, the header `3 <op> <id> <version> <now>`, whose value is the document
  ('' for a delete).
  Input: stream key, op, id, version, document JSON ('' for a delete), now in ms.
  Output: the entry id.
]]
local function appendChange(stream, op, id, version, doc, now)
  return redis.call('XADD', stream, '*', '3 ' .. op .. ' ' .. id .. ' ' .. string.format('%d', version) .. ' ' .. now, doc)
end
