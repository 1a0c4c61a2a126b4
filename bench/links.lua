-- bench/links.lua: the wrk script of bench/run.sh and bench/ab.sh.
-- wrk -s bench/links.lua URL -- LINKS_FILE [SUBID]
-- Cycles through the seeded links in file order (no Zipf: the script stays
-- cheap), each a browser click with a referrer, subId1=SUBID (default
-- "wrk") and a client address sent as X-Forwarded-For.
local reqs, n = {}, 0
init = function(args)
	local subid = args[2] or "wrk"
	for line in io.lines(args[1]) do
		n = n + 1
		reqs[n] = wrk.format("GET", line .. "?subId1=" .. subid, {
			["User-Agent"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			["Referer"] = "https://t.co/",
			["X-Forwarded-For"] = "203.0." .. (n % 256) .. "." .. (n % 250 + 1),
		})
	end
end
local i = 0
request = function()
	i = i % n + 1
	return reqs[i]
end
