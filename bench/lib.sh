# bench/lib.sh: what bench/run.sh and bench/ab.sh share; sourced, not run.
# Before sourcing: set -euo pipefail, SERVER_CPU, LOAD_CPU, and TOOLS (the
# commands the script needs besides go, taskset and curl).

SCRIPT=${0##*/}

die() {
	echo "$SCRIPT: $*" >&2
	for f in "${WORK:-/nonexistent}"/*.log; do
		[ -s "$f" ] && { echo "--- ${f##*/}" >&2; tail -5 "$f" >&2; }
	done
	exit 1
}
log() { echo "$SCRIPT: $*" >&2; }

[ -f go.mod ] && grep -q '^module github.com/clickedge/clickedge' go.mod || die "run it from the repository root"
for tool in go taskset curl $TOOLS; do
	command -v "$tool" >/dev/null || die "$tool is missing (apt-get install -y redis-server util-linux curl wrk bc)"
done
ncpu=$(nproc)
[ "$SERVER_CPU" -lt "$ncpu" ] && [ "$LOAD_CPU" -lt "$ncpu" ] || die "SERVER_CPU=$SERVER_CPU and LOAD_CPU=$LOAD_CPU must be below the $ncpu CPUs"

# Everything started goes in PIDS and is stopped on exit, last first; a
# script may define on_exit for more cleaning up.
WORK=$(mktemp -d -t "clickedge-${SCRIPT%.sh}.XXXXXX")
PIDS=()
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill -TERM "${PIDS[i]}" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	if [ "$(type -t on_exit)" = function ]; then on_exit; fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port prints a loopback TCP port nobody listens on, below the
# ephemeral range (outgoing connections cannot take it meanwhile).
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

# start NAME CPU CMD...: runs CMD pinned to CPU in the background, output in
# $WORK/NAME.log; its PID goes in PID_NAME.
start() {
	local name=$1 cpu=$2
	shift 2
	taskset -c "$cpu" "$@" >"$WORK/$name.log" 2>&1 &
	PIDS+=($!)
	eval "PID_${name//-/_}=$!"
}

# stop PID: stops a process start started (SIGTERM, then waits for it).
stop() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	local kept=() p
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
	PIDS=("${kept[@]}")
}

# wait_http URL: waits up to 10 s for URL to answer.
wait_http() {
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	die "$1 did not come up"
}

# start_infra CLICKBENCH: redis-server on REDIS_PORT and the broker on
# KAFKA_PORT (topic clicks, 3 partitions), both on LOAD_CPU, and waits for
# them to listen.
start_infra() {
	start redis "$LOAD_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK"
	start broker "$LOAD_CPU" env GOMAXPROCS=1 "$1" broker -listen "127.0.0.1:$KAFKA_PORT" -topic clicks -partitions 3
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null && return 0
		sleep 0.1
	done
	die "redis-server or the broker did not come up"
}

# cpu_ticks PID: user+system clock ticks the process (all threads) used.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)
