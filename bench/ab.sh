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
# Forwarded-For from a trusted proxy), or with ONE_URL=1 against the first
# seeded link alone with wrk's own headers (no user agent, referrer or
# X-Forwarded-For), as a load generator pointed at one URL sends. Traffic
# goes to loopback only; the script stops everything it started.
#
# Usage: bench/ab.sh BUILD[=FLAGS] BUILD[=FLAGS]...  (from the repository root)
#   BUILD is a clickedge binary or a git revision (built in a worktree);
#   FLAGS are extra `clickedge serve` flags, e.g. HEAD="-kafka.compression lz4".
# Environment (defaults in brackets):
#   ROUNDS [3]  DURATION [8] seconds per run  CONNECTIONS [64]  LINKS [1000]
#   SERVER_CPU [0]  LOAD_CPU [1]  ONE_URL [0]
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-64}
LINKS=${LINKS:-1000}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
ONE_URL=${ONE_URL:-0}

[ $# -ge 2 ] || { echo "ab.sh: give at least two builds: bench/ab.sh BUILD[=FLAGS] BUILD[=FLAGS]..." >&2; exit 1; }
TOOLS="git redis-server wrk bc"
# shellcheck source=bench/lib.sh
. bench/lib.sh
on_exit() { git worktree prune 2>/dev/null || true; }

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
start_infra "$CB"
start baseline "$SERVER_CPU" env GOMAXPROCS=1 "$CB" baseline -listen "127.0.0.1:$BASE_PORT"
wait_http "http://127.0.0.1:$BASE_PORT/"

# measure PID PORT: one wrk run; prints "req/s user_us sys_us" per request.
measure() {
	local pid=$1 port=$2 u0 s0 u1 s1 out n rps
	read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
	local target=(-s bench/links.lua "http://127.0.0.1:$port" -- "$WORK/links.txt" ab)
	if [ "$ONE_URL" = 1 ]; then
		target=("http://127.0.0.1:$port$(head -n 1 "$WORK/links.txt")")
	fi
	out=$(taskset -c "$LOAD_CPU" wrk -t1 -c "$CONNECTIONS" -d "${DURATION}s" "${target[@]}")
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
		start "edge-$i" "$SERVER_CPU" env GOMAXPROCS=1 "${BINS[i]}" serve \
			-http.listenAddr "127.0.0.1:$EDGE_PORT" -http.internalListenAddr "127.0.0.1:$INTERNAL_PORT" \
			-http.trustedProxies 127.0.0.1 -redis.addr "127.0.0.1:$REDIS_PORT" \
			-kafka.brokers "127.0.0.1:$KAFKA_PORT" -kafka.topic clicks -spool.dir "$WORK/spool-$i" \
			-admin.token "$TOKEN" -tracking.visitorKey ab-visitor-key-0123456789 -edge.name ab \
			-http.shutdownDelay 0 -log.level warn ${FLAGS[i]}
		pidvar=PID_edge_$i
		edge=${!pidvar}
		wait_http "http://127.0.0.1:$INTERNAL_PORT/ready"
		if [ ! -s "$WORK/links.txt" ]; then
			"$CB" seed -admin "http://127.0.0.1:$INTERNAL_PORT" -admin.token "$TOKEN" -links "$LINKS" -out "$WORK/links.txt" >/dev/null 2>&1 ||
				die "cannot seed links"
		fi
		read -r rps user sys < <(measure "$edge" "$EDGE_PORT")
		log "round $r, ${NAMES[i]}: $rps req/s, user $user µs, system $sys µs per request"
		ROWS+=("$i $rps $user $sys")
		stop "$edge"
	done
	read -r rps user sys < <(measure "$PID_baseline" "$BASE_PORT")
	log "round $r, fasthttp baseline: $rps req/s, user $user µs, system $sys µs per request"
	ROWS+=("b $rps $user $sys")
done

echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, wrk -c $CONNECTIONS$([ "$ONE_URL" = 1 ] && echo ", one URL"), ${DURATION}s per run, $ROUNDS rounds alternating"
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
