-- Applies one contract's clicks of one Kafka partition batch, atomically.
--
-- KEYS[1]  the contract's applied-offset watermark for the partition
-- KEYS[2]  the contract's totals hash
-- Every other key is built from ARGV[1], the contract's key prefix, and has
-- the same hash tag as KEYS, so the script stays in one Redis Cluster slot.
--
-- ARGV: prefix, now (ms), unique window (ms), ID horizon (ms), retention (ms),
-- L, then L pairs (metric "c" or "p", max), N, then N events of 10 + 2L
-- values: offset, click ID, ID bucket (unix s), ts (ms), stage ("U", "B",
-- "N", or "?" to decide here), visitor, restricted ("1" or "0"), payout
-- (micros), hour bucket (unix s, "" for none), rollup cell, then per limit
-- the usage key suffix and the window end (ms, "0" for lifetime).
--
-- Returns one string per event: "W<decision>" for an event at or below the
-- watermark (with the decision stored for its click ID, if still kept), "I"
-- for a click ID already applied at another offset, else the decision
-- "<status>:<payout>:<limit mask>".
local pfx = ARGV[1]
local now = tonumber(ARGV[2])
local uniq = tonumber(ARGV[3])
local idttl = tonumber(ARGV[4])
local keep = tonumber(ARGV[5])
local nl = tonumber(ARGV[6])
local lmetric, lmax = {}, {}
local a = 7
for l = 1, nl do
  lmetric[l] = ARGV[a]
  lmax[l] = tonumber(ARGV[a + 1])
  a = a + 2
end
local n = tonumber(ARGV[a])
a = a + 1

local function fmt(x) return string.format('%.0f', x) end

local wm = tonumber(redis.call('GET', KEYS[1]) or '-1')
local top = wm
local used, uend = {}, {}
local totals = {}
local cells, cend = {}, {}
local idend = {} -- ids key -> its expiry
local decided = {} -- ids key -> {click ID -> decision}, written at the end
local out = {}

-- What Redis holds for the batch's click IDs and visitors, read with one
-- command per key and thousand fields rather than one per event: a command
-- costs more to call from the script than to look up a field.
local idks = {}   -- ID bucket -> ids key
local stored = {} -- ids key -> {click ID -> stored decision or false}
local vkey = {}   -- event -> its visitor key, when its unique window is to be checked
local vlast = {}  -- visitor key -> start of its unique window, false if none
local vend = {}   -- visitor key -> expiry of a window started here, written at the end
do
  local ids, vks = {}, {}
  local b = a
  for e = 1, n do
    local idk = idks[ARGV[b + 2]]
    if not idk then
      idk = pfx .. 'ids:' .. ARGV[b + 2]
      idks[ARGV[b + 2]] = idk
      ids[idk] = {}
      idend[idk] = math.max(tonumber(ARGV[b + 2]) * 1000 + 3600000, now) + idttl
    end
    local l = ids[idk]
    l[#l + 1] = ARGV[b + 1]
    if uniq > 0 and ARGV[b + 4] == '?' then
      local vk = pfx .. 'v:' .. ARGV[b + 5]
      vkey[e] = vk
      if vlast[vk] == nil then
        vlast[vk] = false
        vks[#vks + 1] = vk
      end
    end
    b = b + 10 + 2 * nl
  end
  for idk, l in pairs(ids) do
    local got = {}
    stored[idk] = got
    for i = 1, #l, 1000 do
      local j = math.min(i + 999, #l)
      local r = redis.call('HMGET', idk, unpack(l, i, j))
      for k = i, j do got[l[k]] = r[k - i + 1] end
    end
  end
  for i = 1, #vks, 1000 do
    local j = math.min(i + 999, #vks)
    local r = redis.call('MGET', unpack(vks, i, j))
    for k = i, j do vlast[vks[k]] = r[k - i + 1] end
  end
end

for e = 1, n do
  local off = tonumber(ARGV[a])
  local id = ARGV[a + 1]
  local idk = idks[ARGV[a + 2]]
  local ts = tonumber(ARGV[a + 3])
  local st = ARGV[a + 4]
  local restricted = ARGV[a + 6] == '1'
  local pay = tonumber(ARGV[a + 7])
  local hour = ARGV[a + 8]
  local cell = ARGV[a + 9]
  local w = a + 10
  a = w + 2 * nl

  local pend = decided[idk]
  if off <= wm then
    out[e] = 'W' .. ((pend and pend[id]) or stored[idk][id] or '')
  elseif (pend and pend[id]) or stored[idk][id] then
    out[e] = 'I'
    if off > top then top = off end
  else
    if off > top then top = off end
    local mask = 0
    if st == '?' then
      st = nil
      if uniq > 0 then
        local vk = vkey[e] -- read above: uniq > 0 and st was '?'
        local last = vlast[vk]
        if last and math.abs(ts - tonumber(last)) < uniq then
          st = 'D'
        else
          vlast[vk] = ts
          vend[vk] = math.max(ts, now) + uniq
        end
      end
      if not st and restricted then st = 'R' end
      if not st then
        for l = 1, nl do
          local uk = ARGV[w + 2 * (l - 1)]
          if used[uk] == nil then
            used[uk] = tonumber(redis.call('GET', pfx .. uk) or '0')
            uend[uk] = tonumber(ARGV[w + 2 * (l - 1) + 1])
          end
          local inc = pay
          if lmetric[l] == 'c' then inc = 1 end
          if used[uk] + inc > lmax[l] then mask = mask + 2 ^ (l - 1) end
        end
        if mask > 0 then
          st = 'O'
        else
          st = 'P'
          for l = 1, nl do
            local uk = ARGV[w + 2 * (l - 1)]
            if lmetric[l] == 'c' then used[uk] = used[uk] + 1 else used[uk] = used[uk] + pay end
          end
          mask = 2 ^ nl - 1
        end
      end
    end
    if st ~= 'P' then pay = 0 end
    local decision = st .. ':' .. fmt(pay) .. ':' .. fmt(mask)
    if not pend then
      pend = {}
      decided[idk] = pend
    end
    pend[id] = decision
    out[e] = decision
    totals['clicks'] = (totals['clicks'] or 0) + 1
    totals[st] = (totals[st] or 0) + 1
    if pay > 0 then totals['payout'] = (totals['payout'] or 0) + pay end
    if hour ~= '' then
      local hk = pfx .. 'h:' .. hour
      local c = cells[hk]
      if not c then
        c = {}
        cells[hk] = c
        cend[hk] = tonumber(hour) * 1000 + 3600000 + keep
      end
      local f = st .. '|' .. cell
      c[f] = (c[f] or 0) + 1
      if pay > 0 then c['$|' .. cell] = (c['$|' .. cell] or 0) + pay end
    end
  end
end

for vk, exp in pairs(vend) do
  redis.call('SET', vk, fmt(vlast[vk]), 'PXAT', fmt(exp))
end
for uk, v in pairs(used) do
  redis.call('SET', pfx .. uk, fmt(v))
  if uend[uk] > 0 then redis.call('PEXPIREAT', pfx .. uk, fmt(math.max(uend[uk], now) + keep)) end
end
for f, v in pairs(totals) do redis.call('HINCRBY', KEYS[2], f, fmt(v)) end
for hk, c in pairs(cells) do
  for f, v in pairs(c) do redis.call('HINCRBY', hk, f, fmt(v)) end
  redis.call('PEXPIREAT', hk, fmt(cend[hk]))
end
for idk, pend in pairs(decided) do
  local args = {}
  for id, d in pairs(pend) do
    args[#args + 1] = id
    args[#args + 1] = d
    if #args >= 1000 then
      redis.call('HSET', idk, unpack(args))
      args = {}
    end
  end
  if #args > 0 then redis.call('HSET', idk, unpack(args)) end
  redis.call('PEXPIREAT', idk, fmt(idend[idk]))
end
if top > wm then redis.call('SET', KEYS[1], fmt(top)) end
return out
