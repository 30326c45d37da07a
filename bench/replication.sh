#!/usr/bin/env bash
# bench/replication.sh: what replication costs a pykvd leader and how far
# its followers trail it, printed as two markdown tables
# (docs/performance.md, "Replication", explains every column).
#
# Throughput and lag: for each fsync setting (leader and followers alike)
# and each load, runs of 0, 1 and 2 followers take turns, REPL_RUNS rounds
# of them, each run on fresh data directories: a leader, the followers
# started with --replicaof its native port, KEYSPACE keys preloaded and
# synced, then pykv-bench's write load on the leader's native port (50
# connections, 100-byte values, random keys out of 100000, as make bench's
# compare.sh) while bench/repllag polls ROLE on every server every 5 ms. A
# row gives the leader's ops/s (median of the rounds), the ratio to no
# follower (the median of each round's ratio, so that a ratio compares runs
# a few seconds apart, with the smallest and largest of them), and the
# followers' lag in records and in ms (p50, p99: median of the runs; max:
# the largest). Each run's figures are logged on stderr as it ends.
#
# Full sync: for each key count, a leader (fsync everysec) is loaded with
# that many keys of 16 bytes (key:000000000000...) and 100-byte values,
# then an empty follower is started; the time runs from its start until
# ROLE says "connected" with the leader's seq. "in snapshot" is how many of
# the keys came in the leader's snapshot (a merge the housekeeper ran
# during the load made one), the rest in its log.
#
# Environment (all optional):
#   BENCH_QUICK=1            1 s runs, one round, 100k keys for the full sync: about 1 minute
#   REPL_RUNS=N              rounds of the 0/1/2-follower runs (default 3)
#   REPL_DURATION=5s         length of each load
#   REPL_FSYNC="everysec always"    fsync settings of the throughput rows
#   REPL_FOLLOWERS="0 1 2"   follower counts, in the order of a round (0 must be in it for the ratio)
#   REPL_LOADS="set:16 set:1"       pykv-bench test:pipeline of the loads (incr also works)
#   REPL_SYNC_KEYS="1000000 5000000"  key counts of the full-sync rows
#   REPL_SECTIONS="throughput fullsync"  which parts to run
#   BENCH_CLIENTS=50 BENCH_KEYSPACE=100000   the load's shape
#   BENCH_PORT_BASE=24000    first port tried (6379 and pykv's defaults are never used)
#   REPL_OUT=file            also write the tables (markdown) there
#   BENCH_BIN=dir            where pykvd, pykv-bench and repllag are built (default ./bin)
#   BENCH_KEEP=1             keep the temp dir (logs) for a post-mortem
#   REPL_LOG_LEVEL=warn      the servers' --log-level (their logs are in the temp dir)
#
# Requires Go. Exit status 0 when every row was measured.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
if [[ ${BENCH_QUICK:-0} == 1 ]]; then
	RUNS=${REPL_RUNS:-1}
	DURATION=${REPL_DURATION:-1s}
	SYNC_KEYS=${REPL_SYNC_KEYS:-100000}
else
	RUNS=${REPL_RUNS:-3}
	DURATION=${REPL_DURATION:-5s}
	SYNC_KEYS=${REPL_SYNC_KEYS:-1000000 5000000}
fi
SETTINGS=${REPL_FSYNC:-everysec always}
FOLLOWERS=${REPL_FOLLOWERS:-0 1 2}
LOADS=${REPL_LOADS:-set:16 set:1}
SECTIONS=${REPL_SECTIONS:-throughput fullsync}
CLIENTS=${BENCH_CLIENTS:-50}
KEYSPACE=${BENCH_KEYSPACE:-100000}
PORT_BASE=${BENCH_PORT_BASE:-24000}
BIN=${BENCH_BIN:-$ROOT/bin}
OUT=${REPL_OUT:-}
VALUE_SIZE=100
CACHE=268435456         # 256 MiB, as compare.sh's throughput rows
SYNC_FSYNC=everysec
POLL=5ms                # repllag's interval
DRAIN=60s               # how long followers may take to catch up after a load
SYNC_TIMEOUT=900s       # a full sync of 5M keys on 2 busy cores takes a minute or so
READY_TIMEOUT=120s
SLOW_STOP=30            # seconds a server may take to shut down


for f in $FOLLOWERS; do
	[[ $f =~ ^[0-2]$ ]] || die "REPL_FOLLOWERS: $f is not a count from 0 to 2"
done
[[ " $FOLLOWERS " == *" 0 "* ]] || die "REPL_FOLLOWERS must hold 0: the ratios are to the run without a follower"

log "building pykvd, pykv-bench and repllag into $BIN"
mkdir -p "$BIN"
(cd "$ROOT" && go build -o "$BIN/pykvd" ./cmd/pykvd && go build -o "$BIN/pykv-bench" ./cmd/pykv-bench &&
	go build -o "$BIN/repllag" ./bench/repllag)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pykv-repl.XXXXXX")
ROWS=$TMP/rows.tsv
SYNC_ROWS=$TMP/sync.tsv
OUT_JSON=$TMP/out.json
LAG_JSON=$TMP/lag.json
NOTES=$TMP/notes.txt
: >"$ROWS"
: >"$SYNC_ROWS"
: >"$NOTES"

# --- processes ----------------------------------------------------------------

PIDS=()       # servers this script started and has not stopped
DIRS=()       # their directories
SAMPLER_PID=""

# stop_pid PID [NAME] sends SIGTERM to one process this script started and
# waits for it. If it is still there after SLOW_STOP seconds it gets
# SIGQUIT (a Go program prints every goroutine's stack to its log, which
# is kept) and then SIGKILL.
stop_pid() {
	local pid=$1 name=${2:-} i
	STOP_SLOW=0
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < SLOW_STOP * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		note "pid $pid ${name:+($name) }still running ${SLOW_STOP}s after SIGTERM: SIGQUIT, then SIGKILL; its log (with the stacks) is kept under $TMP"
		: >"$TMP/slow"
		STOP_SLOW=1
		kill -QUIT "$pid" 2>/dev/null || true
		sleep 2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# stop_all stops every server, followers first (so that none logs its
# leader's loss at length). A slow one's log is copied to the top of $TMP.
stop_all() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${PIDS[i]}" "${DIRS[i]}"
		if ((STOP_SLOW)); then
			cp "${DIRS[i]}/pykvd.log" "$TMP/slow-$(basename "${DIRS[i]}")-${PIDS[i]}.log" 2>/dev/null || true
		fi
	done
	PIDS=() DIRS=()
}

cleanup() {
	local code=$?
	trap - EXIT INT TERM
	stop_pid "$SAMPLER_PID"
	stop_all
	if [[ ${BENCH_KEEP:-0} == 1 || -e $TMP/slow ]]; then
		log "kept $TMP"
	else
		rm -rf "$TMP"
	fi
	exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# Ports: server i (0 the leader, 1 and 2 the followers) has NATIVE[i] and RESP[i].
NATIVE=() RESP=()
p=$PORT_BASE
for i in 0 1 2; do
	NATIVE[i]=$(next_port "$p")
	RESP[i]=$(next_port $((NATIVE[i] + 1)))
	p=$((RESP[i] + 1))
done


# start_server I DIR FSYNC [pykvd flags...]: starts server I in DIR, in a
# session of its own (setsid) so that a Ctrl-C meant for the script does
# not reach it: the script stops it itself, by PID. STARTED_NS is its start.
start_server() {
	local i=$1 dir=$2 fsync=$3
	shift 3
	mkdir -p "$dir"
	STARTED_NS=$(now_ns)
	(cd "$dir" && exec setsid "$BIN/pykvd" --data-dir "$dir/data" --native-addr "127.0.0.1:${NATIVE[i]}" \
		--resp-addr "127.0.0.1:${RESP[i]}" --http-addr "" --fsync "$fsync" --cache-bytes "$CACHE" \
		--log-level "${REPL_LOG_LEVEL:-warn}" "$@" 2>>"$dir/pykvd.log") &
	PIDS+=($!) DIRS+=("$dir")
}

# wait_ready I: PINGs server I every 10 ms until PONG (pykv-bench --wait-ready).
wait_ready() {
	"$BIN/pykv-bench" -p "${RESP[$1]}" --protocol resp --wait-ready "$READY_TIMEOUT" --json >"$OUT_JSON" ||
		die "server $1 (port ${RESP[$1]}) did not become ready (see its log under $TMP)"
}

# wait_sync I [SINCE_NS]: waits for follower I to be connected with the
# leader's seq; leaves its repllag JSON in $OUT_JSON.
wait_sync() {
	local since=${2:-0}
	"$BIN/repllag" --sync --leader "127.0.0.1:${NATIVE[0]}" --followers "127.0.0.1:${NATIVE[$1]}" \
		--duration "$SYNC_TIMEOUT" --since "$since" --json >"$OUT_JSON" ||
		die "follower $1 (port ${NATIVE[$1]}) did not sync with the leader (see its log under $TMP)"
}


largest() { printf '%s\n' "$@" | sort -g | tail -1; }

note() {
	log "note: $*"
	printf '%s\n' "$*" >>"$NOTES"
}

# preload N: writes keys 0..N-1 on the leader; sets PRELOAD_OPS.
PRELOAD_OPS=""
preload() {
	"$BIN/pykv-bench" -p "${NATIVE[0]}" --preload "$1" -t none -c 8 -d "$VALUE_SIZE" --json >"$OUT_JSON" ||
		die "preload of $1 keys failed"
	PRELOAD_OPS=$(jfield ops_per_sec <"$OUT_JSON")
}

# --- throughput and lag ----------------------------------------------------------

# one_run FSYNC TEST PIPE N: a leader and N followers on fresh data, the load
# on the leader with repllag polling; sets RUN_RESULT to "ops p50 p99 lrec50
# lrec99 lrecmax lms50 lms99 lmsmax" ("-" for the lag without followers), or
# to nothing when the load failed (noted).
RUN_RESULT=""
one_run() {
	local fsync=$1 test=$2 pipe=$3 n=$4 i f rc=0 lag="- - - - - -"
	RUN_RESULT=""
	rm -rf "$TMP/run"
	start_server 0 "$TMP/run/leader" "$fsync"
	for ((i = 1; i <= n; i++)); do
		start_server "$i" "$TMP/run/follower$i" "$fsync" --replicaof "127.0.0.1:${NATIVE[0]}"
	done
	for ((i = 0; i <= n; i++)); do wait_ready "$i"; done
	preload "$KEYSPACE"
	for ((i = 1; i <= n; i++)); do wait_sync "$i"; done
	if ((n > 0)); then
		local fl="127.0.0.1:${NATIVE[1]}"
		for ((i = 2; i <= n; i++)); do fl+=",127.0.0.1:${NATIVE[i]}"; done
		"$BIN/repllag" --leader "127.0.0.1:${NATIVE[0]}" --followers "$fl" --duration "$DURATION" \
			--interval "$POLL" --drain "$DRAIN" --json >"$LAG_JSON" 2>"$TMP/lag.err" &
		SAMPLER_PID=$!
	fi
	if ! "$BIN/pykv-bench" -p "${NATIVE[0]}" -t "$test" -c "$CLIENTS" -P "$pipe" -d "$VALUE_SIZE" \
		-r "$KEYSPACE" --duration "$DURATION" --json >"$OUT_JSON" 2>"$TMP/bench.err"; then
		note "$test -P $pipe, fsync $fsync, $n followers: pykv-bench failed: $(head -c 300 "$TMP/bench.err")"
		: >"$TMP/failed"
		stop_pid "$SAMPLER_PID"
		SAMPLER_PID=""
		stop_all
		return 0
	fi
	local res
	res="$(jfield ops_per_sec <"$OUT_JSON") $(jfield p50_ms <"$OUT_JSON") $(jfield p99_ms <"$OUT_JSON")"
	if ((n > 0)); then
		wait "$SAMPLER_PID" || rc=$?
		SAMPLER_PID=""
		if ((rc != 0)); then
			note "$test -P $pipe, fsync $fsync, $n followers: repllag failed: $(head -c 300 "$TMP/lag.err")"
			: >"$TMP/failed"
		else
			lag=""
			for f in lag_records_p50 lag_records_p99 lag_records_max lag_ms_p50 lag_ms_p99 lag_ms_max; do
				lag+="$(jfield "$f" <"$LAG_JSON") "
			done
			local unreached
			unreached=$(jfield unreached <"$LAG_JSON")
			[[ $unreached == 0 ]] || note "$test -P $pipe, fsync $fsync, $n followers: $unreached leader polls unreached"
		fi
	fi
	stop_all
	RUN_RESULT="$res $lag"
	log "  ops/s p50 p99, lag records p50 p99 max, lag ms p50 p99 max: $RUN_RESULT"
}

# row FSYNC LOAD N OPS RATIO RATIO_RANGE P50 P99 LREC50 LREC99 LRECMAX LMS50 LMS99 LMSMAX
row() {
	local IFS=$'\t'
	printf '%s\n' "$*" >>"$ROWS"
}

throughput() {
	local fsync spec test pipe run n o a b r1 r2 r3 m1 m2 m3
	for fsync in $SETTINGS; do
		for spec in $LOADS; do
			test=${spec%%:*} pipe=${spec##*:}
			local -A ops=() p50=() p99=() ratio=() lr50=() lr99=() lrmax=() lm50=() lm99=() lmmax=() base=()
			for ((run = 1; run <= RUNS; run++)); do
				for n in $FOLLOWERS; do
					log "${test^^} -P $pipe, fsync $fsync, $n follower(s), round $run of $RUNS"
					one_run "$fsync" "$test" "$pipe" "$n"
					[[ -n $RUN_RESULT ]] || continue
					read -r o a b r1 r2 r3 m1 m2 m3 <<<"$RUN_RESULT"
					ops[$n]+="$o " p50[$n]+="$a " p99[$n]+="$b "
					((n == 0)) && base[$run]=$o
					if [[ -n ${base[$run]:-} ]]; then
						ratio[$n]+="$(awk -v x="$o" -v y="${base[$run]}" 'BEGIN {printf "%.4f", x / y}') "
					fi
					if [[ $r1 != - ]]; then
						lr50[$n]+="$r1 " lr99[$n]+="$r2 " lrmax[$n]+="$r3 " lm50[$n]+="$m1 " lm99[$n]+="$m2 " lmmax[$n]+="$m3 "
					fi
				done
			done
			for n in $FOLLOWERS; do
				local cells=()
				# shellcheck disable=SC2086
				if [[ -n ${ops[$n]:-} ]]; then
					local rt=- span=-
					if [[ -n ${ratio[$n]:-} ]]; then
						rt=$(median ${ratio[$n]})
						span=$(printf '%s\n' ${ratio[$n]} | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.2f-%.2f", lo, hi}')
					fi
					cells=("$(median ${ops[$n]})" "$rt" "$span" "$(median ${p50[$n]})" "$(median ${p99[$n]})")
				else
					cells=(- - - - -)
				fi
				# shellcheck disable=SC2086
				if [[ -n ${lr50[$n]:-} ]]; then
					cells+=("$(median ${lr50[$n]})" "$(median ${lr99[$n]})" "$(largest ${lrmax[$n]})"
						"$(median ${lm50[$n]})" "$(median ${lm99[$n]})" "$(largest ${lmmax[$n]})")
				else
					cells+=(- - - - - -)
				fi
				row "fsync $fsync" "${test^^} -P $pipe" "$n" "${cells[@]}"
			done
		done
	done
}

# --- full sync --------------------------------------------------------------------

human_keys() {
	awk -v n="$1" 'BEGIN {
		if (n >= 1000000 && n % 1000000 == 0) printf "%dM", n / 1000000
		else if (n >= 1000 && n % 1000 == 0) printf "%dk", n / 1000
		else printf "%d", n }'
}

fullsync() {
	local keys ms seq full
	for keys in $SYNC_KEYS; do
		log "== full sync of $keys keys"
		rm -rf "$TMP/sync"
		start_server 0 "$TMP/sync/leader" "$SYNC_FSYNC"
		wait_ready 0
		preload "$keys"
		local load_ops=$PRELOAD_OPS
		# At log level info the follower says how much of the dataset came
		# in the leader's snapshot (keys=, as of seq=), the rest being log.
		start_server 1 "$TMP/sync/follower" "$SYNC_FSYNC" --replicaof "127.0.0.1:${NATIVE[0]}" --log-level info
		wait_sync 1 "$STARTED_NS"
		local snap_keys
		snap_keys=$(sed -n "s/.*receiving the leader's snapshot.* keys=\([0-9]*\).*/\1/p" "$TMP/sync/follower/pykvd.log" | tail -1)
		ms=$(jfield sync_ms <"$OUT_JSON")
		seq=$(jfield seq <"$OUT_JSON")
		full=$(jfield full_syncs_received <"$OUT_JSON")
		[[ $full == 1 ]] || note "full sync of $keys keys: the follower counts $full full syncs received"
		local bytes
		bytes=$(du -sb "$TMP/sync/follower/data" | cut -f1)
		stop_all
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(human_keys "$keys")" "$seq" "${snap_keys:--}" "$load_ops" "$ms" \
			"$(awk -v k="$keys" -v ms="$ms" 'BEGIN {printf "%.0f", k / (ms / 1000)}')" \
			"$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1048576}')" >>"$SYNC_ROWS"
		rm -rf "$TMP/sync"
	done
}

# --- the tables ---------------------------------------------------------------

# table FILE HEADER...: FILE's tab-separated rows as a markdown table,
# columns after the first two right-aligned.
table() {
	local file=$1
	shift
	awk -F'\t' -v hdr="$(printf '%s\t' "$@")" '
	function fmt(v, i) {
		if (v == "-" || v == "") return "-"
		if (fmtc[i] == "int") return sprintf("%.0f", v)
		if (fmtc[i] == "ratio") return sprintf("%.2fx", v)
		if (fmtc[i] == "ms") return sprintf("%.1f", v)
		if (fmtc[i] == "lat") return sprintf("%.3f", v)
		return v
	}
	BEGIN { nh = split(hdr, h, "\t") - 1 }
	{ n++; for (i = 1; i <= nh; i++) raw[n, i] = $i }
	END {
		for (i = 1; i <= nh; i++) {
			fmtc[i] = ""
			if (h[i] ~ /ops\/s|records|keys\/s/) fmtc[i] = "int"
			if (h[i] == "ratio to 0") fmtc[i] = "ratio"
			if (h[i] ~ /lag ms|sync ms/) fmtc[i] = "ms"
			if (h[i] ~ /^p(50|99) ms$/) fmtc[i] = "lat"
		}
		for (r = 1; r <= n; r++) for (i = 1; i <= nh; i++) c[r, i] = fmt(raw[r, i], i)
		for (i = 1; i <= nh; i++) {
			w[i] = length(h[i])
			for (r = 1; r <= n; r++) if (length(c[r, i]) > w[i]) w[i] = length(c[r, i])
		}
		line = "|"
		for (i = 1; i <= nh; i++) line = line sprintf(" %-" w[i] "s |", h[i])
		print line
		line = "|"
		for (i = 1; i <= nh; i++) {
			dash = ""
			for (k = 0; k < w[i]; k++) dash = dash "-"
			line = line (i > 2 ? " " substr(dash, 2) ": |" : " " dash " |")
		}
		print line
		for (r = 1; r <= n; r++) {
			line = "|"
			for (i = 1; i <= nh; i++) line = line sprintf(i > 2 ? " %" w[i] "s |" : " %-" w[i] "s |", c[r, i])
			print line
		}
	}' "$file"
}

START=$(date +%s)
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
log "leader on ports ${NATIVE[0]} (native) and ${RESP[0]} (RESP); followers on ${NATIVE[1]}, ${NATIVE[2]}"
log "$RUNS round(s) of $DURATION runs with $FOLLOWERS followers, $CLIENTS connections, loads: $LOADS"
for section in $SECTIONS; do
	case $section in
	throughput) throughput ;;
	fullsync) fullsync ;;
	*) die "unknown section $section in REPL_SECTIONS" ;;
	esac
done

{
	printf 'pykv replication, %s, %s cores (load average %s at start, %s at end), %s round(s) of %s per figure (median), %s connections, keyspace %s, %s-byte values\n' \
		"$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" "$LOAD_START" "$(cut -d' ' -f1 /proc/loadavg)" \
		"$RUNS" "$DURATION" "$CLIENTS" "$KEYSPACE" "$VALUE_SIZE"
	if [[ -s $ROWS ]]; then
		printf '\n'
		table "$ROWS" setting load followers "leader ops/s" "ratio to 0" "ratio range" "p50 ms" "p99 ms" \
			"lag records p50" "lag records p99" "lag records max" "lag ms p50" "lag ms p99" "lag ms max"
	fi
	if [[ -s $SYNC_ROWS ]]; then
		printf '\n'
		table "$SYNC_ROWS" keys "leader seq" "in snapshot" "load keys/s" "full sync ms" "synced keys/s" "follower MiB"
	fi
	if [[ -s $NOTES ]]; then
		printf '\n'
		sed 's/^/note: /' "$NOTES"
	fi
} | tee "${OUT:-/dev/null}"
log "done in $(($(date +%s) - START)) s"
[[ ! -e $TMP/failed ]]
