--[[
  Moves entries to the dead-letter stream and acks them, each at most once: an entry the group no longer
  holds as pending (another consumer acked it, e.g. one that reclaimed the batch of a replica that was
  frozen and has now woken up) is left alone, so it is never dead-lettered twice.
  Input:
    KEYS[1] partition stream key
    KEYS[2] dead-letter stream key
    ARGV[1] consumer group (recorded in each dead letter's 'group' field)
    then, per entry: entry id, reason, deliveries, number of fields n, the n fields of the entry
  Output:
    how many entries were dead-lettered
  The extra field names are DeadLetterField in libs/contracts/src/streams.ts.
]]
local moved = 0
local i = 2
while i <= #ARGV do
  local id, reason, deliveries, count = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  if redis.call('XACK', KEYS[1], ARGV[1], id) == 1 then
    local fields = {}
    for j = 1, count do
      fields[j] = ARGV[i + 3 + j]
    end
    fields[count + 1], fields[count + 2] = 'reason', reason
    fields[count + 3], fields[count + 4] = 'source_id', id
    fields[count + 5], fields[count + 6] = 'deliveries', deliveries
    fields[count + 7], fields[count + 8] = 'group', ARGV[1]
    redis.call('XADD', KEYS[2], '*', unpack(fields))
    moved = moved + 1
  end
  i = i + 4 + count
end
return moved
