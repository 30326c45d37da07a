#!/usr/bin/env bash
# bench/eventloop.sh: pykvd's RESP listener served by one goroutine per
# connection (resp.event_loop = false) against the event loop
# (resp.event_loop = true), the same binary, runs alternating, and
# optionally redis-server 7 in the same rounds. For each server and test it
# prints the throughput (redis-benchmark's) and the server's CPU
# microseconds per request (user + system from /proc/PID/stat over the
# run, divided by the requests), one tab-separated line per run:
#
#   round  server  test  pipeline  req/s  cpu_us  p50_ms  p99_ms  max_ms  load1
#
# then the medians of each server and test. Progress goes to stderr.
#
#   bash bench/eventloop.sh                        # 3 rounds, off and on
#   EL_SERVERS="off on redis" bash bench/eventloop.sh
#   EL_ROUNDS=5 EL_N1=300000 EL_NP=1000000 EL_PIPELINES="1 16" bash bench/eventloop.sh
#   EL_SERVERS=off EL_TESTS=set BENCH_BIN=DIR bash bench/eventloop.sh  # one build, SET only
#   EL_SERVERS="base on" EL_BASE_BIN=DIR bash bench/eventloop.sh  # another build's loop, before/after
#
# Each run starts a fresh server in a temporary directory (fsync
# EL_FSYNC, everysec by default) on a free loopback port, runs SET then
# GET of each pipeline depth with redis-benchmark -c 50 -d 100 -r 1000000
# -n EL_N (EL_N1 at -P 1, EL_NP pipelined), and stops the server by its
# PID. Redis runs with appendonly yes and the same appendfsync.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

BIN=${BENCH_BIN:-./bin}
ROUNDS=${EL_ROUNDS:-3}
N=${EL_N:-2000000}
# The requests of a -P 1 run, and of a pipelined one (default EL_N).
N1=${EL_N1:-$N}
NP=${EL_NP:-$N}
SERVERS=${EL_SERVERS:-"off on"}
PIPELINES=${EL_PIPELINES:-"1 16"}
TESTS=${EL_TESTS:-"set get"}
FSYNC=${EL_FSYNC:-everysec}
OUT=${EL_OUT:-}
TCK=$(getconf CLK_TCK)

cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

if [[ -z ${EL_NOBUILD:-} ]]; then
	log "building pykvd into $BIN"
	go build -o "$BIN/pykvd" ./cmd/pykvd
fi

work=$(mktemp -d)
pid=
cleanup() {
	if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

start() { # start SERVER: sets pid and port
	local srv=$1 dir
	dir=$(mktemp -d "$work/$srv.XXXX")
	port=$(next_port 23100)
	case $srv in
	redis)
		local fs=$FSYNC
		redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly yes \
			--appendfsync "$fs" --dir "$dir" --logfile "$dir/log" &
		;;
	off | on | base)
		local el=false bin=$BIN
		[[ $srv != off ]] && el=true
		if [[ $srv == base ]]; then
			[[ -n ${EL_BASE_BIN:-} ]] || die "server base needs EL_BASE_BIN"
			bin=$EL_BASE_BIN
		fi
		"$bin/pykvd" --data-dir "$dir" --resp-addr "127.0.0.1:$port" --native-addr "" --http-addr "" \
			--fsync "$FSYNC" --resp-event-loop="$el" ${EL_PPROF:+--pprof-addr "$EL_PPROF"} 2>"$dir/log" &
		;;
	*) die "unknown server $srv (off, on, base, redis)" ;;
	esac
	pid=$!
	for _ in $(seq 500); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	die "$srv did not answer PING on port $port"
}

stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

results=$work/results.tsv
: >"$results"
for round in $(seq "$ROUNDS"); do
	for srv in $SERVERS; do
		start "$srv"
		for p in $PIPELINES; do
			n=$NP
			[[ $p == 1 ]] && n=$N1
			for t in $TESTS; do
				t0=$(cpu_ticks "$pid")
				s0=$(now_ns)
				csv=$(redis-benchmark -p "$port" -t "$t" -c 50 -d 100 -r 1000000 -n "$n" -P "$p" -q --csv | tail -1)
				s1=$(now_ns)
				t1=$(cpu_ticks "$pid")
				ops=$(echo "$csv" | awk -F'"' '{print $4}')
				p50=$(echo "$csv" | awk -F'"' '{print $10}')
				p99=$(echo "$csv" | awk -F'"' '{print $14}')
				pmax=$(echo "$csv" | awk -F'"' '{print $16}')
				cpu=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v h="$TCK" 'BEGIN {printf "%.2f", (b - a) * 1e6 / h / n}')
				line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$round" "$srv" "$t" "$p" "$ops" "$cpu" "$p50" "$p99" "$pmax" "$(cut -d' ' -f1 /proc/loadavg)")
				echo "$line" | tee -a "$results"
				log "round $round $srv $t -P $p: $ops req/s, $cpu µs CPU/req, p99 $p99 ms, max $pmax ms, $(((s1 - s0) / 1000000)) ms"
			done
		done
		stop
	done
done

echo
printf '| server | test | req/s (median) | CPU µs/req (median) | p99 ms (median) | max ms (median) | runs |\n|---|---|---:|---:|---:|---:|---:|\n'
for srv in $SERVERS; do
	for p in $PIPELINES; do
		for t in $TESTS; do
			mapfile -t ops < <(awk -F'\t' -v s="$srv" -v t="$t" -v p="$p" '$2 == s && $3 == t && $4 == p {print $5}' "$results")
			mapfile -t cpu < <(awk -F'\t' -v s="$srv" -v t="$t" -v p="$p" '$2 == s && $3 == t && $4 == p {print $6}' "$results")
			mapfile -t p99 < <(awk -F'\t' -v s="$srv" -v t="$t" -v p="$p" '$2 == s && $3 == t && $4 == p {print $8}' "$results")
			mapfile -t pmax < <(awk -F'\t' -v s="$srv" -v t="$t" -v p="$p" '$2 == s && $3 == t && $4 == p {print $9}' "$results")
			printf '| %s | %s -P %s | %s | %s | %s | %s | %d |\n' "$srv" "${t^^}" "$p" "$(median "${ops[@]}")" "$(median "${cpu[@]}")" "$(median "${p99[@]}")" "$(median "${pmax[@]}")" "${#ops[@]}"
		done
	done
done
[[ -n $OUT ]] && cp "$results" "$OUT"
exit 0
