--[[
  Writes document changes of one partition, in the order given, each as includes/writeChange does it:
  a change sees the ones before it, so several changes of one id apply in turn. A refused change writes
  nothing and does not stop the ones after it.
  Input:
    KEYS[1]      the partition stream key
    KEYS[1 + i]  the document hash key of change i (all of the stream's partition, so of one Cluster slot)
    ARGV[1]      now, milliseconds since the epoch
    ARGV[2]      TTL of the hashes in seconds, 0 for none
    ARGV[3 + 6 * (i - 1) ...] change i: op, id, doc, expected, floor, createOnly (see includes/writeChange)
  Output:
    per change its new version, or its refusal code (below zero, see includes/writeChange)
]]
--- @include "includes/writeChange"

local FIELDS = 6
local results = {}
for i = 1, #KEYS - 1 do
  local a = 2 + FIELDS * (i - 1)
  results[i] = writeChange(KEYS[1 + i], KEYS[1], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5],
    ARGV[1], ARGV[2], ARGV[a + 6])
end
return results
