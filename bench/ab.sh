#!/usr/bin/env bash
# bench/ab.sh: A/B of edge builds on one stack, rounds alternating.
#
# Compares two or more builds of the edge (git revisions or binaries) under
# the same load, in alternating rounds, with the bare fasthttp baseline once
# per round. A machine's speed drifts by more than small changes save (on a
# KVM guest runs of the same binary vary by 5-10%), so the rounds alternate
# and each reports, beside req/s, the CPU the server used per request (user
# and system, from /proc/<pid>/stat): a steadier measure of what a change
# saves than req/s.
#
# The stack is the suite's (bench/run.sh): redis-server and the broker on
# LOAD_CPU, each edge and the baseline on SERVER_CPU with GOMAXPROCS=1, wrk
# on LOAD_CPU against the seeded links (one click event per request, X-
# Forwarded-For from a trusted proxy). Traffic goes to loopback only; the
# script stops everything it started.
#
# Usage: bench/ab.sh BUILD[=FLAGS] BUILD[=FLAGS]...  (from the repository root)
#   BUILD is a clickedge binary or a git revision (built in a worktree);
#   FLAGS are extra `clickedge serve` flags, e.g. HEAD="-kafka.compression lz4".
# Environment (defaults in brackets):
#   ROUNDS [3]  DURATION [8] seconds per run  CONNECTIONS [64]  LINKS [1000]
#   SERVER_CPU [0]  LOAD_CPU [1]
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-64}
LINKS=${LINKS:-1000}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}

die() { echo "ab.sh: $*" >&2; exit 1; }
log() { echo "ab.sh: $*" >&2; }

[ -f go.mod ] && grep -q '^module github.com/clickedge/clickedge' go.mod || die "run it from the repository root"
[ $# -ge 2 ] || die "give at least two builds: bench/ab.sh BUILD[=FLAGS] BUILD[=FLAGS]..."
for tool in go git redis-server taskset curl wrk bc; do
	command -v "$tool" >/dev/null || die "$tool is missing (apt-get install -y redis-server util-linux curl wrk bc)"
done

WORK=$(mktemp -d -t clickedge-ab.XXXXXX)
PIDS=()   # the infrastructure and the baseline
EDGE_PID= # the edge being measured
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -n "$EDGE_PID" ] && PIDS+=("$EDGE_PID")
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	git worktree prune 2>/dev/null || true
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	local p lo
	lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	while :; do
		p=$((10000 + RANDOM % (lo - 10000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}
wait_http() {
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	die "$1 did not come up"
}

# The builds: NAMES[i] for the table, BINS[i] to run, FLAGS[i] to add.
NAMES=() BINS=() FLAGS=()
for arg in "$@"; do
	build=${arg%%=*} flags=""
	[ "$build" != "$arg" ] && flags=${arg#*=}
	i=${#BINS[@]}
	if [ -x "$build" ] && [ -f "$build" ]; then
		BINS+=("$build")
	else
		git rev-parse --verify -q "$build^{commit}" >/dev/null || die "$build is neither a binary nor a git revision"
		log "building $build"
		git worktree add -q --detach "$WORK/src-$i" "$build"
		(cd "$WORK/src-$i" && go build -trimpath -o "$WORK/clickedge-$i" ./cmd/clickedge)
		git worktree remove --force "$WORK/src-$i"
		BINS+=("$WORK/clickedge-$i")
	fi
	NAMES+=("$build${flags:+ ($flags)}")
	FLAGS+=("$flags")
done
go build -trimpath -o "$WORK/clickbench" ./cmd/clickbench
CB=$WORK/clickbench

REDIS_PORT=$(free_port) KAFKA_PORT=$(free_port) BASE_PORT=$(free_port)
EDGE_PORT=$(free_port) INTERNAL_PORT=$(free_port)
TOKEN=ab-$RANDOM$RANDOM
taskset -c "$LOAD_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
taskset -c "$LOAD_CPU" env GOMAXPROCS=1 "$CB" broker -listen "127.0.0.1:$KAFKA_PORT" -topic clicks -partitions 3 >"$WORK/broker.log" 2>&1 &
PIDS+=($!)
taskset -c "$SERVER_CPU" env GOMAXPROCS=1 "$CB" baseline -listen "127.0.0.1:$BASE_PORT" >"$WORK/baseline.log" 2>&1 &
BASE_PID=$!
PIDS+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null && break; sleep 0.1; done
wait_http "http://127.0.0.1:$BASE_PORT/"

# The wrk script: the seeded links in turn, each a browser click with a
# referrer, a sub-ID and a client address from the trusted proxy.
cat >"$WORK/links.lua" <<'LUA'
local reqs, n = {}, 0
init = function(args)
	for line in io.lines(args[1]) do
		n = n + 1
		reqs[n] = wrk.format("GET", line .. "?subId1=ab", {
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
LUA

# measure PID PORT: one wrk run; prints "req/s user_us sys_us" per request.
measure() {
	local pid=$1 port=$2 u0 s0 u1 s1 out n rps
	read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
	out=$(taskset -c "$LOAD_CPU" wrk -t1 -c "$CONNECTIONS" -d "${DURATION}s" -s "$WORK/links.lua" "http://127.0.0.1:$port" -- "$WORK/links.txt")
	read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
	n=$(echo "$out" | awk '/requests in/ {print $1}')
	rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
	local tick=$((1000000 / $(getconf CLK_TCK)))
	echo "$rps $(echo "scale=2; ($u1-$u0)*$tick/$n" | bc) $(echo "scale=2; ($s1-$s0)*$tick/$n" | bc)"
}

ROWS=()
for r in $(seq "$ROUNDS"); do
	for i in "${!BINS[@]}"; do
		# shellcheck disable=SC2086 # FLAGS are words
		taskset -c "$SERVER_CPU" env GOMAXPROCS=1 "${BINS[i]}" serve \
			-http.listenAddr "127.0.0.1:$EDGE_PORT" -http.internalListenAddr "127.0.0.1:$INTERNAL_PORT" \
			-http.trustedProxies 127.0.0.1 -redis.addr "127.0.0.1:$REDIS_PORT" \
			-kafka.brokers "127.0.0.1:$KAFKA_PORT" -kafka.topic clicks -spool.dir "$WORK/spool-$i" \
			-admin.token "$TOKEN" -tracking.visitorKey ab-visitor-key-0123456789 -edge.name ab \
			-http.shutdownDelay 0 -log.level warn ${FLAGS[i]} >"$WORK/edge-$i.log" 2>&1 &
		EDGE_PID=$!
		wait_http "http://127.0.0.1:$INTERNAL_PORT/ready"
		if [ ! -s "$WORK/links.txt" ]; then
			"$CB" seed -admin "http://127.0.0.1:$INTERNAL_PORT" -admin.token "$TOKEN" -links "$LINKS" -out "$WORK/links.txt" >/dev/null 2>&1 ||
				die "cannot seed links: $(tail -3 "$WORK/edge-$i.log")"
		fi
		read -r rps user sys < <(measure "$EDGE_PID" "$EDGE_PORT")
		log "round $r, ${NAMES[i]}: $rps req/s, user $user µs, system $sys µs per request"
		ROWS+=("$i $rps $user $sys")
		kill -TERM "$EDGE_PID"
		wait "$EDGE_PID" 2>/dev/null || true
		EDGE_PID=
	done
	read -r rps user sys < <(measure "$BASE_PID" "$BASE_PORT")
	log "round $r, fasthttp baseline: $rps req/s, user $user µs, system $sys µs per request"
	ROWS+=("b $rps $user $sys")
done

echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, wrk -c $CONNECTIONS, ${DURATION}s per run, $ROUNDS rounds alternating"
echo
echo "| build | req/s per round | user CPU per request (µs) | system CPU per request (µs) |"
echo "|---|---|---|---|"
for key in "${!BINS[@]}" b; do
	if [ "$key" = b ]; then name="fasthttp baseline"; else name=${NAMES[key]}; fi
	printf '| %s |' "$name"
	for col in 2 3 4; do
		vals=$(printf '%s\n' "${ROWS[@]}" | awk -v k="$key" -v c="$col" '$1 == k {printf "%s%s", sep, $c; sep=", "}')
		printf ' %s |' "$vals"
	done
	echo
done
