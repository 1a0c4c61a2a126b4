#!/usr/bin/env bash
# bench/run.sh: the side-by-side load suite on one machine.
#
# Starts a whole local stack on loopback: redis-server, an in-process
# Kafka-protocol broker (clickbench broker), clickedge serve, clickedge rollup
# (when the binary has it), the bare fasthttp baseline (clickbench baseline)
# and nginx with a static `return 302` (when nginx is installed). The edge,
# the baseline and nginx each run on one core (SERVER_CPU, GOMAXPROCS=1,
# worker_processes 1); the load generator and the infrastructure (Redis, the
# broker, the rollup) share the other (LOAD_CPU). Then it measures, in this
# order:
#   1. closed loop, clickbench: edge, baseline, nginx, in alternating rounds
#      (the report's table is each target's round closest to its median:
#      the median round for an odd number of rounds);
#   2. closed loop, wrk (an independent load generator): the same three, in
#      alternating rounds (the report gives the ratio of the medians);
#   3. open loop at half the edge's median closed-loop rate, clickbench: the
#      three, in alternating rounds (the report's table is each target's
#      round closest to its median p99, and it gives every round's p99);
#   4. the loss run: LOSS_DURATION at full load on the edge, then every
#      served click is looked up on the clicks topic (-verify.kafka).
# It writes OUT/report.md with a latency chart (SVG) and the raw results, and
# stops everything it started. Traffic goes to loopback only.
#
# Usage: bench/run.sh            (from the repository root)
# Environment (defaults in brackets):
#   OPEN_ROUNDS [3] alternating open-loop rounds, DURATION [10s] each
#   WARMUP [3s]  CONNECTIONS [64]  LOSS_DURATION [60s]
#   CLOSED_ROUNDS [3] alternating clickbench closed-loop rounds, CLOSED_DURATION [10s] each
#   LINKS [1000]  ZIPF [1.0]  BOTS [0.1]  SERVER_CPU [0]  LOAD_CPU [1]
#   OUT [bench/out/<date>]  SKIP_NGINX [0]  SKIP_WRK [0]  SKIP_LOSS [0]
#   WRK_ROUNDS [3] alternating wrk rounds over the targets, WRK_DURATION [10s] each
#   ROLLUP_CATCHUP [20] seconds the rollup consumes after the load
#   COMPRESSION [snappy] the edge's -kafka.compression
set -euo pipefail

DURATION=${DURATION:-10s}
OPEN_ROUNDS=${OPEN_ROUNDS:-3}
CLOSED_ROUNDS=${CLOSED_ROUNDS:-3}
CLOSED_DURATION=${CLOSED_DURATION:-10s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
LOSS_DURATION=${LOSS_DURATION:-60s}
LINKS=${LINKS:-1000}
ZIPF=${ZIPF:-1.0}
BOTS=${BOTS:-0.1}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-bench/out/$(date +%Y%m%d-%H%M%S)}
SKIP_NGINX=${SKIP_NGINX:-0}
SKIP_WRK=${SKIP_WRK:-0}
WRK_ROUNDS=${WRK_ROUNDS:-3}
WRK_DURATION=${WRK_DURATION:-10s}
SKIP_LOSS=${SKIP_LOSS:-0}
COMPRESSION=${COMPRESSION:-snappy}

for n in CLOSED_ROUNDS WRK_ROUNDS OPEN_ROUNDS; do
	[[ ${!n} =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: $n must be a whole number of rounds, at least 1; got '${!n}'" >&2; exit 1; }
done

TOOLS="redis-server bc"
# shellcheck source=bench/lib.sh
. bench/lib.sh

log "building"
go build -trimpath -o "$WORK/clickedge" ./cmd/clickedge
go build -trimpath -o "$WORK/clickbench" ./cmd/clickbench
CE=$WORK/clickedge
CB=$WORK/clickbench
mkdir -p "$OUT"

REDIS_PORT=$(free_port)
KAFKA_PORT=$(free_port)
EDGE_PORT=$(free_port)
INTERNAL_PORT=$(free_port)
BASE_PORT=$(free_port)
NGINX_PORT=$(free_port)
ROLLUP_PORT=$(free_port)
TOKEN=bench-$RANDOM$RANDOM

log "starting redis-server, broker, edge, baseline on loopback"
start_infra "$CB"
start edge "$SERVER_CPU" env GOMAXPROCS=1 "$CE" serve \
	-http.listenAddr "127.0.0.1:$EDGE_PORT" -http.internalListenAddr "127.0.0.1:$INTERNAL_PORT" \
	-http.trustedProxies 127.0.0.1 -redis.addr "127.0.0.1:$REDIS_PORT" \
	-kafka.brokers "127.0.0.1:$KAFKA_PORT" -kafka.topic clicks -kafka.compression "$COMPRESSION" -spool.dir "$WORK/spool" \
	-admin.token "$TOKEN" -tracking.visitorKey bench-visitor-key-0123456789 -edge.name bench \
	-http.shutdownDelay 0 -log.level warn
wait_http "http://127.0.0.1:$INTERNAL_PORT/ready"
start baseline "$SERVER_CPU" env GOMAXPROCS=1 "$CB" baseline -listen "127.0.0.1:$BASE_PORT"

ROLLUP=0
if "$CE" rollup -help >/dev/null 2>&1; then
	ROLLUP=1
	log "starting clickedge rollup"
	start rollup "$LOAD_CPU" env GOMAXPROCS=1 "$CE" rollup -kafka.brokers "127.0.0.1:$KAFKA_PORT" -kafka.topic clicks \
		-kafka.group bench-rollup -redis.addr "127.0.0.1:$REDIS_PORT" -http.internalListenAddr "127.0.0.1:$ROLLUP_PORT" -log.level warn
else
	log "this clickedge has no rollup subcommand; running without the consumer"
fi

NGINX=0
if [ "$SKIP_NGINX" = 0 ] && command -v nginx >/dev/null; then
	NGINX=1
	mkdir -p "$WORK/nginx/logs"
	cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 10000000;
	keepalive_timeout 60s;
	client_body_temp_path $WORK/nginx/body;
	proxy_temp_path $WORK/nginx/proxy;
	fastcgi_temp_path $WORK/nginx/fastcgi;
	uwsgi_temp_path $WORK/nginx/uwsgi;
	scgi_temp_path $WORK/nginx/scgi;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		location / { return 302 "https://www.amazon.com/dp/B08N5WRWNW?tag=benchpartner-20&linkCode=ll1&ascsubtag=bench"; }
	}
}
CONF
	start nginx "$SERVER_CPU" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log"
	wait_http_302() { for _ in $(seq 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 302 ] && return 0; sleep 0.1; done; die "nginx did not come up"; }
	wait_http_302 "http://127.0.0.1:$NGINX_PORT/"
else
	log "nginx is not installed (or SKIP_NGINX=1): measuring without it"
fi
wait_http "http://127.0.0.1:$BASE_PORT/"

log "seeding $LINKS links"
"$CB" seed -admin "http://127.0.0.1:$INTERNAL_PORT" -admin.token "$TOKEN" -links "$LINKS" -out "$WORK/links.txt"

# The servers under test: name, URL, PID whose CPU time is read.
NAMES=(clickedge "fasthttp baseline")
URLS=("http://127.0.0.1:$EDGE_PORT" "http://127.0.0.1:$BASE_PORT")
SPIDS=("$PID_edge" "$PID_baseline")
if [ "$NGINX" = 1 ]; then
	NAMES+=("nginx return 302")
	URLS+=("http://127.0.0.1:$NGINX_PORT")
	SPIDS+=("$PID_nginx") # the master; its worker is read through the process group below
fi

# server_ticks I: CPU ticks of server I (nginx: master and worker).
server_ticks() {
	local pid=${SPIDS[$1]} t=0
	for p in $pid $(pgrep -P "$pid" || true); do t=$((t + $(cpu_ticks "$p"))); done
	echo "$t"
}

CPU_NOTES=()
# load I KIND ARGS...: one clickbench run against server I, JSON in $OUT.
load() {
	local i=$1 kind=$2
	shift 2
	local before after secs
	before=$(server_ticks "$i")
	secs=$(date +%s.%N)
	local prof=""
	if [ "$i" = 0 ] && [ "$kind" = closed-1 ] && [ "${CLOSED_DURATION%s}" -ge 8 ] 2>/dev/null; then
		# A CPU profile of the edge in the middle of its closed-loop run.
		(sleep $((${WARMUP%s} + 1)) && curl -fsS -o "$OUT/edge-cpu.pprof" \
			"http://127.0.0.1:$INTERNAL_PORT/debug/pprof/profile?seconds=$((${CLOSED_DURATION%s} - 2))") &
		prof=$!
	fi
	taskset -c "$LOAD_CPU" env GOMAXPROCS=1 "$CB" -target "${URLS[i]}" -name "${NAMES[i]}" -links "$WORK/links.txt" \
		-zipf "$ZIPF" -bots "$BOTS" -connections "$CONNECTIONS" -warmup "$WARMUP" -quiet "$@" \
		-json "$OUT/$kind-$i.json" | tee -a "$OUT/clickbench.txt"
	[ -n "$prof" ] && { wait "$prof" || log "no CPU profile of the edge"; }
	after=$(server_ticks "$i")
	secs=$(echo "$(date +%s.%N) - $secs" | bc)
	CPU_NOTES+=("| $kind | ${NAMES[i]} | $(echo "scale=0; 100 * ($after - $before) / $CLK_TCK / $secs" | bc)% |")
}

# The rollup shares the load generator's core: it is paused while load runs,
# so that it does not slow the load generator down (for the edge only, the
# one target whose events it consumes), and resumed at the end, when it
# consumes the backlog; its counters go into the report.
pause_rollup() { [ "$ROLLUP" = 1 ] && kill -STOP "$PID_rollup" || true; }
resume_rollup() { [ "$ROLLUP" = 1 ] && kill -CONT "$PID_rollup" || true; }
pause_rollup

# median: the median of the numbers on stdin.
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# rounds "N N ..." [FORMAT]: the rounds' figures as the report lists them,
# "N, N, ...", each printed with FORMAT (default %.0f).
rounds() { echo "$1" | awk -v f="${2:-%.0f}" '{for (k = 1; k <= NF; k++) printf "%s" f, (k > 1 ? ", " : ""), $k}'; }
# rps FILE, p99 FILE: the req/s and the p99 latency (ms) of a clickbench JSON result.
rps() { awk '/"rps"/ {gsub(/,/, "", $2); print $2; exit}' "$1"; }
p99() { awk '/"p99_ms"/ {gsub(/,/, "", $2); print $2; exit}' "$1"; }
# closest VALUES TARGET ROUNDS MEDIAN: the round whose figure in the array
# named VALUES ("round,target" -> figure) is closest to MEDIAN (the median
# round itself for an odd number of rounds).
closest() {
	local -n v_=$1
	local best=1 r
	for r in $(seq "$3"); do
		if awk -v a="${v_[$r,$2]}" -v b="${v_[$best,$2]}" -v m="$4" 'BEGIN {d = a - m; e = b - m; exit !((d < 0 ? -d : d) < (e < 0 ? -e : e))}'; then best=$r; fi
	done
	echo "$best"
}
# summarize VALUES MED ROWS ROUNDS KIND FORMAT: for each target, the median
# of its rounds' figures in the array named VALUES ("round,target" ->
# figure) into the array named MED, its round closest to the median copied
# to OUT/KIND-TARGET.json for the report's table, and a row "| target |
# rounds | median |" (figures printed with FORMAT) appended to ROWS.
summarize() {
	local -n med_=$2 rows_=$3
	local -n vals_=$1
	local i r all best
	for i in "${!URLS[@]}"; do
		all=""
		for r in $(seq "$4"); do all+="${vals_[$r,$i]} "; done
		med_[i]=$(echo "$all" | median)
		best=$(closest "$1" "$i" "$4" "${med_[i]}")
		cp "$OUT/$5-$best-$i.json" "$OUT/$5-$i.json"
		rows_+=("| ${NAMES[i]} | $(rounds "$all" "$6") | $(rounds "${med_[i]}" "$6") |")
	done
}
# ratios RPS MED ROUNDS: a line per target after the edge with the ratio of
# the medians and of every round, from the arrays named RPS ("round,target"
# -> req/s) and MED (target -> median req/s).
ratios() {
	local -n rps_=$1 med_=$2
	local i r per
	for i in "${!URLS[@]}"; do
		[ "$i" = 0 ] && continue
		per=""
		for r in $(seq "$3"); do per+="$(awk -v a="${rps_[$r,0]}" -v b="${rps_[$r,$i]}" 'BEGIN {printf "%.3f", a / b}') "; done
		echo "- clickedge / ${NAMES[i]}: req/s ratio of the medians **$(awk -v a="${med_[0]}" -v b="${med_[i]}" 'BEGIN {printf "%.3f", a / b}')** (rounds: $(echo "$per" | sed 's/ $//; s/ /, /g'))"
	done
}

# Rounds alternate the targets, so that a drift of the machine's speed
# reaches every target alike (on a VM a server's rate can move by a third
# between runs a minute apart); each target's round closest to its median
# is the one the report's table shows, and the open loop runs at half the
# edge's median.
log "1/4 closed loop, clickbench, $CLOSED_ROUNDS alternating rounds of $CLOSED_DURATION each"
CLOSED_ROWS=() CLOSED_RATIOS=() CLOSED_MED=()
declare -A CLOSED_RPS # "round,target" -> req/s
for r in $(seq "$CLOSED_ROUNDS"); do
	for i in "${!URLS[@]}"; do
		load "$i" "closed-$r" -duration "$CLOSED_DURATION"
		CLOSED_RPS[$r,$i]=$(rps "$OUT/closed-$r-$i.json")
	done
done
summarize CLOSED_RPS CLOSED_MED CLOSED_ROWS "$CLOSED_ROUNDS" closed %.0f
# Through a file, so that set -e stops the script if ratios fails.
ratios CLOSED_RPS CLOSED_MED "$CLOSED_ROUNDS" >"$WORK/ratios"
mapfile -t CLOSED_RATIOS <"$WORK/ratios"

WRK_ROWS=() WRK_RATIOS=() WRK_MED=()
declare -A WRK_RPS # "round,target" -> req/s
if [ "$SKIP_WRK" = 0 ] && command -v wrk >/dev/null; then
	# Rounds alternate the targets, so that a drift of the machine's speed
	# (on a VM, runs of one server vary by 5-10%, and a bare server's rate
	# can jump between two levels) reaches every target alike; the report
	# gives every round, the median and the ratio of the medians.
	log "2/4 closed loop, wrk, $WRK_ROUNDS alternating rounds of $WRK_DURATION each"
	for r in $(seq "$WRK_ROUNDS"); do
		for i in "${!URLS[@]}"; do
			taskset -c "$LOAD_CPU" wrk -t1 -c "$CONNECTIONS" -d "${WRK_DURATION%s}s" --latency -s bench/links.lua "${URLS[i]}" -- "$WORK/links.txt" wrk >"$OUT/wrk-$r-$i.txt" 2>&1
			rps=$(awk '/^Requests\/sec/ {print $2}' "$OUT/wrk-$r-$i.txt")
			WRK_RPS[$r,$i]=$rps
			log "wrk round $r, ${NAMES[i]}: $rps req/s"
		done
	done
	for i in "${!URLS[@]}"; do
		all="" lats=""
		for r in $(seq "$WRK_ROUNDS"); do
			all+="${WRK_RPS[$r,$i]} "
			lats+="${lats:+, }$(awk '/^ +50%/ {p50 = $2} /^ +99%/ {p99 = $2} END {print p50 "/" p99}' "$OUT/wrk-$r-$i.txt")"
		done
		WRK_MED[i]=$(echo "$all" | median)
		WRK_ROWS+=("| ${NAMES[i]} | $(rounds "$all") | $(rounds "${WRK_MED[i]}") | $lats |")
	done
	ratios WRK_RPS WRK_MED "$WRK_ROUNDS" >"$WORK/ratios"
	mapfile -t WRK_RATIOS <"$WORK/ratios"
fi

# Open loop at half of the edge's median closed-loop rate, in alternating
# rounds too: a p99 moves between runs of one server more than its req/s
# does.
HALF=$(awk -v m="${CLOSED_MED[0]}" 'BEGIN {printf "%d", m / 2}')
log "3/4 open loop at $HALF req/s (half the edge's median closed-loop rate), $OPEN_ROUNDS alternating rounds of $DURATION each"
OPEN_ROWS=() OPEN_MED=()
declare -A OPEN_P99 # "round,target" -> p99 (ms)
for r in $(seq "$OPEN_ROUNDS"); do
	for i in "${!URLS[@]}"; do
		load "$i" "open-$r" -duration "$DURATION" -rate "$HALF"
		OPEN_P99[$r,$i]=$(p99 "$OUT/open-$r-$i.json")
	done
done
summarize OPEN_P99 OPEN_MED OPEN_ROWS "$OPEN_ROUNDS" open %.2f

LOSS_JSON=""
if [ "$SKIP_LOSS" = 0 ]; then
	log "4/4 loss run: $LOSS_DURATION at full load on the edge, then the clicks topic is read back"
	load 0 loss -duration "$LOSS_DURATION" -verify.kafka "127.0.0.1:$KAFKA_PORT" -verify.topic clicks -verify.timeout 600s || log "the loss run failed"
	LOSS_JSON=$OUT/loss-0.json
fi

resume_rollup
[ "$ROLLUP" = 1 ] && sleep "${ROLLUP_CATCHUP:-20}"
# Metrics after the runs: the edge's events sent, spooled, dropped; the
# rollup's clicks by status.
curl -fsS "http://127.0.0.1:$INTERNAL_PORT/metrics" >"$OUT/edge-metrics.txt" || true
[ "$ROLLUP" = 1 ] && { curl -fsS "http://127.0.0.1:$ROLLUP_PORT/metrics" >"$OUT/rollup-metrics.txt" || true; }

log "writing $OUT/report.md"
closed=() open=()
for i in "${!URLS[@]}"; do closed+=("$OUT/closed-$i.json"); open+=("$OUT/open-$i.json"); done
"$CB" report -out "$WORK/closed.md" -chart closed-latency.svg -title "Closed loop, $CONNECTIONS connections (each target's round closest to its median, of $CLOSED_ROUNDS)" "${closed[@]}"
"$CB" report -out "$WORK/open.md" -chart open-latency.svg -title "Open loop at $HALF req/s (each target's round closest to its median p99, of $OPEN_ROUNDS)" "${open[@]}"
mv "$WORK"/*.svg "$OUT/"
{
	echo "# clickbench side-by-side run"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(uname -sr), $(go version | awk '{print $3}')."
	echo "Servers on CPU $SERVER_CPU (GOMAXPROCS=1, nginx worker_processes 1); load generator, redis-server, broker$([ "$ROLLUP" = 1 ] && echo ", rollup (paused while load runs, then given ${ROLLUP_CATCHUP:-20}s to consume)") on CPU $LOAD_CPU."
	echo "$LINKS links, Zipf $ZIPF, $BOTS bots, warmup $WARMUP; the edge emits every click to the broker ($COMPRESSION batches, acks=all)."
	echo
	sed 's/^# /## /' "$WORK/closed.md"
	echo
	echo "Every round ($CLOSED_ROUNDS alternating rounds of $CLOSED_DURATION; the ratios above are those of the rounds closest to the medians):"
	echo
	echo "| target | req/s per round | median req/s |"
	echo "|---|---|---:|"
	printf '%s\n' "${CLOSED_ROWS[@]}"
	echo
	printf '%s\n' "${CLOSED_RATIOS[@]}"
	echo
	if [ "${#WRK_ROWS[@]}" -gt 0 ]; then
		echo "## Closed loop, wrk (1 thread, $CONNECTIONS connections, $WRK_ROUNDS alternating rounds of $WRK_DURATION)"
		echo
		echo "| target | req/s per round | median req/s | p50/p99 per round |"
		echo "|---|---|---:|---|"
		printf '%s\n' "${WRK_ROWS[@]}"
		echo
		printf '%s\n' "${WRK_RATIOS[@]}"
		echo
	fi
	sed 's/^# /## /' "$WORK/open.md"
	echo
	echo "Every round ($OPEN_ROUNDS alternating rounds of $DURATION):"
	echo
	echo "| target | p99 per round (ms) | median p99 (ms) |"
	echo "|---|---|---:|"
	printf '%s\n' "${OPEN_ROWS[@]}"
	echo
	if [ -n "$LOSS_JSON" ] && [ -f "$LOSS_JSON" ]; then
		"$CB" report -out "$WORK/loss.md" -chart loss-latency.svg -title "Loss run: $LOSS_DURATION at full load" "$LOSS_JSON"
		mv "$WORK/loss-latency.svg" "$OUT/"
		sed 's/^# /## /' "$WORK/loss.md"
		echo
		echo "Edge event counters after all runs:"
		echo
		echo '```'
		grep -E '^clickedge_(events_total|events_dropped_total)' "$OUT/edge-metrics.txt" || true
		echo '```'
		echo
		if [ -s "$OUT/rollup-metrics.txt" ]; then
			echo "Rollup counters when the report was written: it consumes the events of all runs after the load, so its lag is the time since the click, not its speed:"
			echo
			echo '```'
			grep -E '^clickedge_rollup_(clicks_total|lag_seconds|batches_total|apply_errors_total)' "$OUT/rollup-metrics.txt" || true
			echo '```'
			echo
		fi
	fi
	if [ -s "$OUT/edge-cpu.pprof" ]; then
		echo "## Where the edge's CPU goes (first closed-loop round, $((${CLOSED_DURATION%s} - 2)) s profile)"
		echo
		echo "Cumulative share of the edge's CPU samples; \`go tool pprof -top -cum edge-cpu.pprof\` for all (the profile is next to this report)."
		echo
		echo '```'
		go tool pprof -top -cum -nodecount=400 "$WORK/clickedge" "$OUT/edge-cpu.pprof" 2>/dev/null |
			grep -E 'Total samples|Server\).serveConnCounted$|linux.Syscall6$|bufio.\(\*Writer\).Flush$|bufio.\(\*Reader\).fill$|Handler\).HandleRequest$|Handler\).serve$|Handler\).emit$|Handler\).(ClientIP|clientIP|scanHeaders)$|Classifier\).Classify$|Click\).AppendJSON(WithLink)?$|emitter.\(\*Writer\).Emit$|Cache\).GetAt?$|runFlusher$|produce.func1$|batchBuilder\).finish$|kafka-go.\(\*conn\).run$|(lz4.\(\*Writer\)|snappy.\(\*xerialWriter\)).Flush$|deadlineConn\).(Read|Write)$|setDeadlineImpl$|runtime.gcBgMarkWorker$|runtime.mallocgc$|runtime.schedule$' || true
		echo '```'
		echo
	fi
	echo "## Server CPU during the clickbench runs"
	echo
	echo "Busy share of the server's core: near 100% means the server, not the load generator, was the limit."
	echo
	echo "| run | server | CPU |"
	echo "|---|---|---:|"
	printf '%s\n' "${CPU_NOTES[@]}"
} >"$OUT/report.md"
log "done: $OUT/report.md"
