--[[
  What the sink asks about a batch before writing it: the version Redis holds of each document, and what it needs to
  know how long that answer holds (apps/sink/src/consumer/known-versions.ts).
  Input:
    KEYS[1] the partition's epoch key, KEYS[2] its stream, then the document hash keys (all of one partition, so of
            one Cluster slot)
    ARGV[1] a new random token, stored as the epoch when the partition has none (first use, or Redis lost its data)
  Output:
    the epoch, the id of the stream's last entry ('0-0' when it has none), then per document key its version, or 0
    when Redis holds no hash for it
]]
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
local reply = { epoch, last and last[1] or '0-0' }
for i = 3, #KEYS do
  reply[i] = tonumber(redis.call('HGET', KEYS[i], 'v')) or 0
end
return reply
