--[[
  The current version of each document hash, in one call instead of one command per document.
  Input:
    KEYS the document hash keys (all of one partition, so of one Cluster slot)
  Output:
    per key its version, or 0 when Redis holds no hash for it
]]
local versions = {}
for i, key in ipairs(KEYS) do
  versions[i] = tonumber(redis.call('HGET', key, 'v')) or 0
end
return versions
