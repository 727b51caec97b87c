--[[
  Holds a place in a lease set for one member: a sorted set of members scored by when each one's hold lapses
  (this server's clock, ms, so the sinks' own clocks never matter). Lapsed members are removed first; then the
  member's place is renewed if it has one, or given to it if the set has room (a free or lapsed place taken over).
  The key expires with its last member, so the leases of a group that stopped leave nothing behind.
  Used for a partition's lease in a group (room for ceil(sinks / partitions) readers) and for the group's
  membership (no limit).
  Input:
    KEYS[1] lease set
    ARGV[1] member (a consumer name)
    ARGV[2] how long the hold lasts, ms
    ARGV[3] how many members may hold a place at once; 0 for no limit
  Output:
    { 1 if the member holds a place now, else 0; the server time, ms; the members holding a place, by name }
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local room = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = 0
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or room == 0 or redis.call('ZCARD', KEYS[1]) < room then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  held = 1
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then
  redis.call('PEXPIREAT', KEYS[1], last[2])
end
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
table.sort(members)
return { held, now, members }
