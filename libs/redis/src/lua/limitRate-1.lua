--[[
  One request against a client's rate limit, by the generic cell rate algorithm (GCRA): the key holds the
  theoretical arrival time (TAT) of the client's next request, on this server's clock (µs), so every ingest replica
  shares one limit and their own clocks never matter. A request conforms when it comes no earlier than the TAT minus
  the burst tolerance; each one that conforms moves the TAT one emission interval on. A refused request changes
  nothing, so a client that keeps sending while refused is not pushed further back. The key expires once the TAT has
  passed: an idle client leaves nothing behind.
  Input:
    KEYS[1] the client's rate-limit key
    ARGV[1] emission interval, µs (1 000 000 / requests a second)
    ARGV[2] burst tolerance, µs (how far ahead of its steady pace a client may be: (burst - 1) intervals)
  Output:
    0 when the request may go ahead, else how long until one may, ms (at least 1)
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
  tat = now
end
local allowedAt = tat - tolerance
if now < allowedAt then
  return math.max(1, math.ceil((allowedAt - now) / 1000))
end
local nextTat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', nextTat), 'PX', math.ceil((nextTat - now) / 1000) + 1)
return 0
