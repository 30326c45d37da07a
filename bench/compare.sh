#!/usr/bin/env bash
# bench/compare.sh: pykvd against Redis 7 on this machine, printed as one
# table (docs/performance.md explains every row).
#
# For each durability setting (Redis appendonly yes + appendfsync X against
# pykvd --fsync X, X = no, everysec, always) it starts both servers on
# loopback in temp dirs and drives them with the same pykv-bench: SET and
# GET, unpipelined (-P 1) and pipelined (-P 16), 50 connections, RESP for
# both and pykv's native protocol too. Then, with N keys of 100 bytes: the
# RSS and bytes per key after loading them (pykv with a 1 MiB value cache,
# values cold, and with a cache that holds them all), the time from process
# start to the first PONG after a restart (Redis from RDB and from AOF; pykv
# from its log, and from a snapshot after BGREWRITEAOF's merge), and GET
# throughput over random keys of the whole keyspace with pykv's cache cold.
# Every throughput row also says the server's CPU microseconds per request
# (user + system from /proc/PID/stat over the run) and its ratio to Redis's.
#
# Environment (all optional):
#   BENCH_QUICK=1          100k keys, 1 s runs, one run each: under 3 minutes
#   BENCH_KEYS=N           keys for the memory/restart/cold rows (default 1000000)
#   BENCH_RUNS=N           runs per throughput figure, the median is shown (default 3)
#   BENCH_DURATION=5s      length of each throughput run
#   BENCH_FSYNC="no everysec always"   durability settings of the throughput rows
#   BENCH_SECTIONS="throughput dataset"  which parts to run
#   BENCH_CLIENTS=50 BENCH_PIPELINE=16 BENCH_KEYSPACE=100000  throughput load shape
#   BENCH_PORT_BASE=23000  first port tried (6379 is never used)
#   BENCH_OUT=file         also write the table (markdown) there
#   BENCH_DATA=dir         also keep the results there, machine-readable, for
#                          bench/plot: rows.tsv (the table's rows, below),
#                          latency.jsonl (each throughput run's latency
#                          distribution, from pykv-bench --latency-out),
#                          meta.tsv (date, commit, machine, load) and table.md
#   BENCH_BIN=dir          where pykvd and pykv-bench are built (default ./bin)
#   BENCH_KEEP=1           keep the temp dir (logs, data) for a post-mortem
#
# Requires redis-server and redis-cli (installed with apt-get when missing
# and running as root) and Go. Exit status 0 when every row was measured.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
QUICK=${BENCH_QUICK:-0}
if [[ $QUICK == 1 ]]; then
	KEYS=${BENCH_KEYS:-100000}
	RUNS=${BENCH_RUNS:-1}
	DURATION=${BENCH_DURATION:-1s}
else
	KEYS=${BENCH_KEYS:-1000000}
	RUNS=${BENCH_RUNS:-3}
	DURATION=${BENCH_DURATION:-5s}
fi
SETTINGS=${BENCH_FSYNC:-no everysec always}
SECTIONS=${BENCH_SECTIONS:-throughput dataset}
CLIENTS=${BENCH_CLIENTS:-50}
PIPELINE=${BENCH_PIPELINE:-16}
KEYSPACE=${BENCH_KEYSPACE:-100000}
PORT_BASE=${BENCH_PORT_BASE:-23000}
BIN=${BENCH_BIN:-$ROOT/bin}
OUT=${BENCH_OUT:-}
DATA=${BENCH_DATA:-}
VALUE_SIZE=100
DATASET_FSYNC=everysec
SMALL_CACHE=1048576     # 1 MiB: values are cold, read from the files
LARGE_CACHE=4294967296  # 4 GiB: every value of 5M keys fits
# pykv's log-only restart must replay a log, not a snapshot: segments of
# 1 GiB keep 5M keys in one segment, so the housekeeper (which merges at 8
# sealed segments) stays idle until BGREWRITEAOF asks.
LOG_SEGMENT=1073741824
READY_TIMEOUT=600s
SLOW_STOP=120           # seconds a server may take to shut down


# --- prerequisites ----------------------------------------------------------

ensure_redis() {
	if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
		return
	fi
	if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
		die "redis-server and redis-cli are needed: apt-get install redis-server redis-tools"
	fi
	log "installing redis-server and redis-tools"
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >&2
}

ensure_redis
REDIS_VERSION=$(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')
[[ ${REDIS_VERSION%%.*} -ge 7 ]] || log "warning: Redis $REDIS_VERSION is older than 7; the AOF rows assume Redis 7's multi-part AOF"

log "building pykvd and pykv-bench into $BIN"
mkdir -p "$BIN"
(cd "$ROOT" && go build -o "$BIN/pykvd" ./cmd/pykvd && go build -o "$BIN/pykv-bench" ./cmd/pykv-bench)

if [[ -n $DATA ]]; then
	mkdir -p "$DATA"
	DATA=$(cd "$DATA" && pwd)
	rm -f "$DATA/rows.tsv" "$DATA/latency.jsonl" "$DATA/meta.tsv" "$DATA/table.md"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pykv-compare.XXXXXX")
mkfifo "$TMP/nap"
exec 9<>"$TMP/nap"
ROWS=$TMP/rows.tsv
OUT_JSON=$TMP/out.json
NOTES=$TMP/notes.txt
: >"$ROWS"
: >"$NOTES"

# --- processes ----------------------------------------------------------------

REDIS_PID=""
PYKV_PID=""

# stop_pid sends SIGTERM to one process this script started and waits for
# it, then SIGKILL if it is still there after SLOW_STOP seconds.
stop_pid() {
	local pid=$1 i
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < SLOW_STOP * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid still running after ${SLOW_STOP}s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

stop_redis() { stop_pid "$REDIS_PID"; REDIS_PID=""; }
stop_pykv() { stop_pid "$PYKV_PID"; PYKV_PID=""; }

cleanup() {
	local code=$?
	trap - EXIT INT TERM
	[[ -z ${WAITER_PID:-} ]] || stop_pid "$WAITER_PID"
	stop_redis
	stop_pykv
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then
		log "kept $TMP"
	else
		rm -rf "$TMP"
	fi
	exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


REDIS_PORT=$(next_port "$PORT_BASE")
PYKV_RESP_PORT=$(next_port $((REDIS_PORT + 1)))
PYKV_NATIVE_PORT=$(next_port $((PYKV_RESP_PORT + 1)))


# Servers run in a session of their own (setsid), so that a Ctrl-C meant
# for the script does not reach them: the script stops them itself, by PID.

# start_redis DIR FSYNC [redis-server options...]: starts Redis in DIR,
# leaving its start time in STARTED_NS.
start_redis() {
	local dir=$1 fsync=$2
	shift 2
	mkdir -p "$dir"
	STARTED_NS=$(now_ns)
	(cd "$dir" && exec setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode no \
		--daemonize no --dir "$dir" --logfile "$dir/redis.log" --save '' \
		--appendonly yes --appendfsync "$fsync" "$@") &
	REDIS_PID=$!
}

# start_pykv DIR FSYNC CACHE_BYTES [pykvd flags...]: starts pykvd in DIR
# (as its working directory too, so no pykv.toml is picked up by chance).
start_pykv() {
	local dir=$1 fsync=$2 cache=$3
	shift 3
	mkdir -p "$dir"
	STARTED_NS=$(now_ns)
	(cd "$dir" && exec setsid "$BIN/pykvd" --data-dir "$dir/data" --native-addr "127.0.0.1:$PYKV_NATIVE_PORT" \
		--resp-addr "127.0.0.1:$PYKV_RESP_PORT" --fsync "$fsync" --cache-bytes "$cache" \
		--log-level warn "$@" 2>>"$dir/pykvd.log") &
	PYKV_PID=$!
}

# nap waits 50 ms without starting a process (starting one costs tens of
# milliseconds of CPU here, taken from the server being timed): a read
# with a timeout on a FIFO nobody writes to.
nap() { read -r -t 0.05 -u 9 _ || true; }

# pykv-bench always runs in the script's own shell, never inside $(...):
# bash lets a Ctrl-C that killed a command substitution's child go by, but
# not one that killed its own foreground child. Its JSON goes to $OUT_JSON
# and the results to globals.

# wait_ready PORT PID: PINGs every 10 ms until PONG and sets READY_MS to
# the ms since STARTED_NS, the process start. Gives up at once if the
# server exits.
WAITER_PID=""
READY_MS=""
wait_ready() {
	local port=$1 pid=$2 rc=0
	"$BIN/pykv-bench" -p "$port" --protocol resp --wait-ready "$READY_TIMEOUT" --since "$STARTED_NS" \
		--json >"$OUT_JSON" &
	WAITER_PID=$!
	while kill -0 "$WAITER_PID" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			stop_pid "$WAITER_PID"
			WAITER_PID=""
			die "server pid $pid on port $port exited before it was ready (see its log under $TMP)"
		fi
		nap
	done
	wait "$WAITER_PID" || rc=$?
	WAITER_PID=""
	((rc == 0)) || die "server on port $port did not become ready"
	READY_MS=$(jfield ready_ms <"$OUT_JSON")
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# rss_detail PID: a log line splitting RSS into anonymous memory and file
# pages (pykv's snapshot mmap counts in VmRSS once touched).
rss_detail() { log "pid $1: $(grep -E '^(RssAnon|RssFile):' "/proc/$1/status" | tr -s ' \t\n' ' ')"; }



# row GROUP KIND TEST SETTING SERVER OPS P50 P99 RSS_MIB BYTES_PER_KEY READY_MS [CPU_US]
# CPU_US is the server's CPU microseconds per request (throughput rows). KIND says which figure the pykv/Redis ratio compares: ops, mem or ready.
# The Redis row of a GROUP is the reference of the others.
row() {
	local IFS=$'\t'
	printf '%s\n' "$*" >>"$ROWS"
}
note() {
	log "note: $*"
	printf '%s\n' "$*" >>"$NOTES"
}

# cpu_ticks PID: the process's user + system CPU time so far, in clock
# ticks (fields 14 and 15 of /proc/PID/stat, counted after the command
# name's closing parenthesis, which may hold spaces).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
CLK_TCK=$(getconf CLK_TCK)

# bench PORT PROTOCOL TEST PIPELINE KEYSPACE PID: one timed run; sets
# BENCH_RESULT to "ops p50 p99 cpu", cpu being the server's (PID's) CPU
# microseconds per request over the run, or to nothing when the run failed
# (noted, and the script then exits 1 after printing the table). With
# BENCH_DATA, the run's latency distribution is added to latency.jsonl,
# labelled with LAT_LABEL's group, server and run.
BENCH_RESULT=""
LAT_LABEL=("" "" 0)
bench() {
	local port=$1 proto=$2 test=$3 pipe=$4 keyspace=$5 pid=$6 t0 t1 requests extra=()
	BENCH_RESULT=""
	[[ -z $DATA ]] || extra=(--latency-out "$TMP/latency.jsonl")
	t0=$(cpu_ticks "$pid")
	if ! "$BIN/pykv-bench" -p "$port" --protocol "$proto" -t "$test" -c "$CLIENTS" -P "$pipe" -d "$VALUE_SIZE" \
		-r "$keyspace" --duration "$DURATION" --json "${extra[@]}" >"$OUT_JSON" 2>"$TMP/bench.err"; then
		note "$test -P $pipe on port $port ($proto) failed: $(head -c 300 "$TMP/bench.err")"
		: >"$TMP/failed"
		return 0
	fi
	t1=$(cpu_ticks "$pid")
	if [[ -n $DATA ]]; then
		printf '{"group":"%s","server":"%s","run":%d,"latency":%s}\n' "${LAT_LABEL[@]}" "$(<"$TMP/latency.jsonl")" \
			>>"$DATA/latency.jsonl"
	fi
	requests=$(jfield requests <"$OUT_JSON")
	BENCH_RESULT="$(jfield ops_per_sec <"$OUT_JSON") $(jfield p50_ms <"$OUT_JSON") $(jfield p99_ms <"$OUT_JSON")"
	BENCH_RESULT+=" $(awk -v t="$((t1 - t0))" -v hz="$CLK_TCK" -v n="$requests" 'BEGIN {printf "%.2f", (n > 0 ? t * 1e6 / hz / n : 0)}')"
}

# preload PORT PROTOCOL N: writes keys 0..N-1; sets PRELOAD_OPS to the
# keys per second.
PRELOAD_OPS=""
preload() {
	"$BIN/pykv-bench" -p "$1" --protocol "$2" --preload "$3" -t none -c 8 -d "$VALUE_SIZE" --json >"$OUT_JSON" ||
		die "preload of $3 keys on port $1 failed"
	PRELOAD_OPS=$(jfield ops_per_sec <"$OUT_JSON")
}

# server_name TARGET: the server column of a measure target's rows.
server_name() {
	if [[ $1 == redis ]]; then echo redis/resp; else echo "${1/-/\/}"; fi
}

# measure GROUP TEST LABEL SETTING PIPE KEYSPACE TARGET...: RUNS runs of
# each target ("redis", "pykv-resp", "pykv-native"), interleaved so that
# drift in the machine's load spreads over all of them; one row per target
# with the median of each figure.
measure() {
	local group=$1 test=$2 label=$3 setting=$4 pipe=$5 keyspace=$6
	shift 6
	local -A ops p50 p99 cpu
	local run target port proto pid o a b u
	for ((run = 1; run <= RUNS; run++)); do
		for target in "$@"; do
			case $target in
			redis) port=$REDIS_PORT proto=resp pid=$REDIS_PID ;;
			pykv-resp) port=$PYKV_RESP_PORT proto=resp pid=$PYKV_PID ;;
			pykv-native) port=$PYKV_NATIVE_PORT proto=native pid=$PYKV_PID ;;
			esac
			log "$label ($setting), $target, run $run of $RUNS"
			LAT_LABEL=("$group" "$(server_name "$target")" "$run")
			bench "$port" "$proto" "$test" "$pipe" "$keyspace" "$pid"
			[[ -n $BENCH_RESULT ]] || continue
			read -r o a b u <<<"$BENCH_RESULT"
			ops[$target]+="$o " p50[$target]+="$a " p99[$target]+="$b " cpu[$target]+="$u "
		done
	done
	for target in "$@"; do
		local name
		name=$(server_name "$target")
		# shellcheck disable=SC2086
		if [[ -n ${ops[$target]:-} ]]; then
			row "$group" ops "$label" "$setting" "$name" "$(median ${ops[$target]})" \
				"$(median ${p50[$target]})" "$(median ${p99[$target]})" - - - "$(median ${cpu[$target]})"
		else
			row "$group" ops "$label" "$setting" "$name" - - - - - - -
		fi
	done
}

# --- throughput: SET and GET per durability setting ---------------------------

throughput() {
	local fsync pipe test
	for fsync in $SETTINGS; do
		log "== throughput, fsync $fsync"
		start_redis "$TMP/tp-redis-$fsync" "$fsync"
		start_pykv "$TMP/tp-pykv-$fsync" "$fsync" 268435456
		wait_ready "$REDIS_PORT" "$REDIS_PID"
		wait_ready "$PYKV_RESP_PORT" "$PYKV_PID"
		preload "$REDIS_PORT" resp "$KEYSPACE"
		preload "$PYKV_NATIVE_PORT" native "$KEYSPACE"
		for test in set get; do
			for pipe in 1 "$PIPELINE"; do
				measure "tp-$test-$pipe-$fsync" "$test" "${test^^} -P $pipe" "fsync $fsync" "$pipe" "$KEYSPACE" \
					redis pykv-resp pykv-native
			done
		done
		stop_redis
		stop_pykv
		rm -rf "$TMP/tp-redis-$fsync" "$TMP/tp-pykv-$fsync"
	done
}

# --- dataset: memory, restarts, cold reads ------------------------------------

human_keys() {
	awk -v n="$1" 'BEGIN {
		if (n >= 1000000 && n % 1000000 == 0) printf "%dM", n / 1000000
		else if (n >= 1000 && n % 1000 == 0) printf "%dk", n / 1000
		else printf "%d", n }'
}

# bytes_per_key RSS_KIB BASE_KIB: the RSS a key adds, over KEYS keys.
bytes_per_key() { awk -v a="$1" -v b="$2" -v n="$KEYS" 'BEGIN {printf "%.0f", (a - b) * 1024 / n}'; }

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# loaded GROUP SERVER PID PORT PROTOCOL: loads KEYS keys into a server
# started empty and adds the memory row: its RSS after the load, and the
# RSS it gained per key. BASE_KIB keeps the empty server's RSS.
loaded() {
	local group=$1 server=$2 pid=$3 port=$4 proto=$5 after
	sleep 1
	BASE_KIB=$(rss_kib "$pid")
	log "loading $KEYS keys into $server"
	preload "$port" "$proto" "$KEYS"
	sleep 1
	after=$(rss_kib "$pid")
	rss_detail "$pid"
	row "$group" mem "$(human_keys "$KEYS") keys loaded" "fsync $DATASET_FSYNC" "$server" "$PRELOAD_OPS" - - \
		"$(mib "$after")" "$(bytes_per_key "$after" "$BASE_KIB")" -
}

# restarted GROUP TEST SERVER PID PORT [BASE_KIB]: the row of a server just
# started: its time to ready and its RSS then, and with BASE_KIB the RSS
# per key above that of the empty server.
restarted() {
	local group=$1 test=$2 server=$3 pid=$4 port=$5 base=${6:-} rss bpk=-
	wait_ready "$port" "$pid"
	rss=$(rss_kib "$pid")
	rss_detail "$pid"
	[[ -z $base ]] || bpk=$(bytes_per_key "$rss" "$base")
	row "$group" ready "$test" "fsync $DATASET_FSYNC" "$server" - - - "$(mib "$rss")" "$bpk" "$(printf '%.0f' "$READY_MS")"
}

# running GROUP TEST SERVER PID: the memory row of a server that has run
# for a while (loaded, replayed, merged): its RSS, and the RSS per key over
# the empty server's BASE_KIB.
running() {
	local group=$1 test=$2 server=$3 pid=$4 rss
	rss=$(rss_kib "$pid")
	rss_detail "$pid"
	row "$group" mem "$test" "fsync $DATASET_FSYNC" "$server" - - - "$(mib "$rss")" "$(bytes_per_key "$rss" "$BASE_KIB")" -
}

# merged DIR: waits for pykv's merge (started by BGREWRITEAOF) to leave a
# snapshot and no temporary file, and to be over (INFO says no rewrite in
# progress once the merge has also handed its buffers back to the OS).
merged() {
	local dir=$1 i
	for ((i = 0; i < 6000; i++)); do
		if compgen -G "$dir/*.snap" >/dev/null && ! compgen -G "$dir/*.tmp" >/dev/null &&
			redis-cli -p "$PYKV_RESP_PORT" INFO persistence | grep -q '^aof_rewrite_in_progress:0'; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

dataset() {
	local n reply pipe
	n=$(human_keys "$KEYS")
	log "== dataset: $KEYS keys of $VALUE_SIZE bytes, fsync $DATASET_FSYNC"

	# Redis: load, SAVE, then restart from the RDB and from the AOF. Automatic
	# AOF rewrites are off so that the AOF stays a log of commands (a rewrite
	# would turn it into an RDB preamble).
	local rdir=$TMP/ds-redis
	start_redis "$rdir" "$DATASET_FSYNC" --auto-aof-rewrite-percentage 0
	restarted ready-empty "start, empty" redis "$REDIS_PID" "$REDIS_PORT"
	loaded mem redis "$REDIS_PID" "$REDIS_PORT" resp
	redis-cli -p "$REDIS_PORT" SAVE >/dev/null
	stop_redis
	start_redis "$rdir" "$DATASET_FSYNC" --appendonly no
	restarted ready-snap "restart, $n keys" "redis (RDB)" "$REDIS_PID" "$REDIS_PORT" "$BASE_KIB"
	for pipe in 1 "$PIPELINE"; do
		measure "cold-$pipe" get "cold GET -P $pipe, $n keys" "fsync $DATASET_FSYNC" "$pipe" "$KEYS" redis
	done
	stop_redis
	start_redis "$rdir" "$DATASET_FSYNC" --auto-aof-rewrite-percentage 0
	restarted ready-log "restart, $n keys" "redis (AOF)" "$REDIS_PID" "$REDIS_PORT" "$BASE_KIB"
	stop_redis
	rm -rf "$rdir"

	# pykv, values cold: load, restart from the log, merge, restart from the
	# snapshot, then random GETs over every key.
	local pdir=$TMP/ds-pykv
	start_pykv "$pdir" "$DATASET_FSYNC" "$SMALL_CACHE" --segment-size "$LOG_SEGMENT"
	restarted ready-empty "start, empty" pykvd "$PYKV_PID" "$PYKV_RESP_PORT"
	loaded mem "pykvd cache 1 MiB" "$PYKV_PID" "$PYKV_NATIVE_PORT" native
	stop_pykv
	start_pykv "$pdir" "$DATASET_FSYNC" "$SMALL_CACHE" --segment-size "$LOG_SEGMENT"
	restarted ready-log "restart, $n keys" "pykvd (log)" "$PYKV_PID" "$PYKV_RESP_PORT" "$BASE_KIB"
	reply=$(redis-cli -p "$PYKV_RESP_PORT" BGREWRITEAOF 2>&1 || true)
	if [[ $reply == *started* ]]; then
		log "merging: $reply"
		merged "$pdir/data" || die "no snapshot after BGREWRITEAOF"
		running mem "$n keys merged, same process" "pykvd cache 1 MiB" "$PYKV_PID"
		stop_pykv
		start_pykv "$pdir" "$DATASET_FSYNC" "$SMALL_CACHE" --segment-size "$LOG_SEGMENT"
		restarted ready-snap "restart, $n keys" "pykvd (snapshot)" "$PYKV_PID" "$PYKV_RESP_PORT" "$BASE_KIB"
	else
		note "pykvd restart from a snapshot skipped: BGREWRITEAOF answered \"$reply\""
	fi
	for pipe in 1 "$PIPELINE"; do
		measure "cold-$pipe" get "cold GET -P $pipe, $n keys" "fsync $DATASET_FSYNC" "$pipe" "$KEYS" pykv-resp pykv-native
	done
	stop_pykv
	rm -rf "$pdir"

	# pykv, every value in the cache.
	start_pykv "$pdir" "$DATASET_FSYNC" "$LARGE_CACHE"
	wait_ready "$PYKV_RESP_PORT" "$PYKV_PID"
	loaded mem "pykvd cache 4 GiB" "$PYKV_PID" "$PYKV_NATIVE_PORT" native
	stop_pykv
	rm -rf "$pdir"
}

# --- the table ------------------------------------------------------------------

# table prints the rows as one markdown table; a row's ratio is its figure
# over that of the Redis row of its group (ops/s: higher is better for
# pykv; bytes per key and ready time: lower is better).
table() {
	awk -F'\t' '
	function cell(v) { return v == "" ? "-" : v }
	function fmt_ops(v) { return v == "-" ? v : sprintf("%.0f", v) }
	function fmt_ms(v) { return v == "-" ? v : sprintf("%.3f", v) }
	{
		n++
		for (i = 1; i <= NF; i++) f[n, i] = $i
		if ($5 ~ /^redis/) {
			col = ($2 == "ops") ? 6 : ($2 == "mem") ? 10 : 11
			ref[$1] = $col
			cref[$1] = $12
		}
	}
	END {
		hdr[1] = "test"; hdr[2] = "setting"; hdr[3] = "server/protocol"; hdr[4] = "ops/s"
		hdr[5] = "p50 ms"; hdr[6] = "p99 ms"; hdr[7] = "RSS MiB"; hdr[8] = "B/key"
		hdr[9] = "ready ms"; hdr[10] = "pykv/Redis"; hdr[11] = "CPU µs/req"; hdr[12] = "CPU pykv/Redis"
		for (r = 1; r <= n; r++) {
			kind = f[r, 2]; group = f[r, 1]
			c[r, 1] = f[r, 3]; c[r, 2] = f[r, 4]; c[r, 3] = f[r, 5]
			c[r, 4] = fmt_ops(f[r, 6]); c[r, 5] = fmt_ms(f[r, 7]); c[r, 6] = fmt_ms(f[r, 8])
			c[r, 7] = cell(f[r, 9]); c[r, 8] = cell(f[r, 10]); c[r, 9] = cell(f[r, 11])
			col = (kind == "ops") ? 6 : (kind == "mem") ? 10 : 11
			v = f[r, col]
			if (f[r, 5] ~ /^redis/ || !(group in ref) || ref[group] == "-" || v == "-" || ref[group] + 0 == 0)
				c[r, 10] = "-"
			else
				c[r, 10] = sprintf("%.2fx", v / ref[group])
			u = cell(f[r, 12]); c[r, 11] = u
			if (f[r, 5] ~ /^redis/ || u == "-" || !(group in cref) || cref[group] == "" || cref[group] == "-" || cref[group] + 0 == 0)
				c[r, 12] = "-"
			else
				c[r, 12] = sprintf("%.2fx", u / cref[group])
		}
		for (i = 1; i <= 12; i++) {
			w[i] = length(hdr[i])
			for (r = 1; r <= n; r++) if (length(c[r, i]) > w[i]) w[i] = length(c[r, i])
		}
		line = "|"
		for (i = 1; i <= 12; i++) line = line sprintf(" %-" w[i] "s |", hdr[i])
		print line
		line = "|"
		for (i = 1; i <= 12; i++) {
			dash = ""
			for (k = 0; k < w[i]; k++) dash = dash "-"
			line = line (i >= 4 ? " " substr(dash, 2) ": |" : " " dash " |")
		}
		print line
		for (r = 1; r <= n; r++) {
			line = "|"
			for (i = 1; i <= 12; i++) line = line sprintf(i >= 4 ? " %" w[i] "s |" : " %-" w[i] "s |", c[r, i])
			print line
		}
	}' "$ROWS"
}

START=$(date +%s)
COMMIT=$(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || echo unknown)
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
BASE_KIB=0
log "Redis $REDIS_VERSION on port $REDIS_PORT; pykvd on $PYKV_RESP_PORT (RESP) and $PYKV_NATIVE_PORT (native)"
log "$RUNS run(s) of $DURATION per throughput figure, $CLIENTS connections, -P 1 and -P $PIPELINE; $KEYS keys for the dataset rows"
for section in $SECTIONS; do
	case $section in
	throughput) throughput ;;
	dataset) dataset ;;
	*) die "unknown section $section in BENCH_SECTIONS" ;;
	esac
done

{
	printf 'pykv vs Redis %s, %s, %s cores (load average %s at start, %s at end), %s run(s) of %s per throughput figure (median), %s connections\n\n' \
		"$REDIS_VERSION" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" "$LOAD_START" "$(cut -d' ' -f1 /proc/loadavg)" \
		"$RUNS" "$DURATION" "$CLIENTS"
	table
	if [[ -s $NOTES ]]; then
		printf '\n'
		sed 's/^/note: /' "$NOTES"
	fi
} | tee "${OUT:-/dev/null}" ${DATA:+"$DATA/table.md"}
if [[ -n $DATA ]]; then
	cp "$ROWS" "$DATA/rows.tsv"
	{
		printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
		printf 'commit\t%s\n' "$COMMIT"
		printf 'cpu\t%s\n' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
		printf 'cores\t%s\n' "$(nproc)"
		printf 'memory_gib\t%s\n' "$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)"
		printf 'kernel\t%s\n' "$(uname -r)"
		printf 'load_start\t%s\n' "$LOAD_START"
		printf 'load_end\t%s\n' "$(cut -d' ' -f1 /proc/loadavg)"
		printf 'redis\t%s\n' "$REDIS_VERSION"
		printf 'runs\t%s\n' "$RUNS"
		printf 'duration\t%s\n' "$DURATION"
		printf 'clients\t%s\n' "$CLIENTS"
		printf 'pipeline\t%s\n' "$PIPELINE"
		printf 'keyspace\t%s\n' "$KEYSPACE"
		printf 'keys\t%s\n' "$KEYS"
		printf 'value_size\t%s\n' "$VALUE_SIZE"
		printf 'quick\t%s\n' "$QUICK"
	} >"$DATA/meta.tsv"
	log "results kept in $DATA"
fi
log "done in $(($(date +%s) - START)) s"
[[ ! -e $TMP/failed ]]
