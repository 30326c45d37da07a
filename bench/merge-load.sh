#!/usr/bin/env bash
# merge-load.sh: what a running merge does to writes. Starts pykvd (fsync
# everysec, background merges off) on loopback in a temporary directory,
# loads 1M keys of 100 bytes and overwrites them twice so that a merge has
# dead bytes to reclaim, then runs the same SET load (pykv-bench -c 50 -P 16,
# 6 s) three ways, ROUNDS times in turn:
#   none         no merge
#   full         BGREWRITEAOF 0.5 s in: every file folded into one
#   housekeeper  the background merge, let loose 0.5 s in (a SIGHUP with
#                merge_sealed_segments = 1): it merges what the policy picks,
#                the sealed segments and the files whose dead share passes
#                merge_dead_percent (docs/operations.md, "Compaction")
# Prints each run's summary line and, for the merges, INFO's merge figures,
# then the medians per way and their ratios to "none".
#
# Usage: bench/merge-load.sh [BIN_DIR]   (default: ./bin, built by make build)
#   ROUNDS=N   rounds of the three ways (default 3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
B=${1:-./bin}
ROUNDS=${ROUNDS:-3}
D=$(mktemp -d /tmp/pykv-merge-load.XXXXXX)
NATIVE=$(next_port 17480)
RESP=$(next_port $((NATIVE + 1)))
conf() { # conf N: pykv.toml with merge_sealed_segments = N, every other trigger off
	cat >"$D/pykv.toml" <<EOF
[storage]
merge_sealed_segments = $1
merge_dead_bytes = 0
merge_max_space_amp_percent = 0
merge_min_interval = "0s"
EOF
}
conf 0
"$B/pykvd" --config "$D/pykv.toml" --data-dir "$D/data" --fsync everysec --http-addr "" \
	--native-addr 127.0.0.1:"$NATIVE" --resp-addr 127.0.0.1:"$RESP" --log-level warn &
P=$!
trap 'kill $P 2>/dev/null; wait $P 2>/dev/null; rm -rf "$D"' EXIT
"$B/pykv-bench" -p "$NATIVE" --wait-ready 30s >/dev/null
cli() { "$B/pykv-cli" -p "$NATIVE" "$@"; }
merges() { cli INFO persistence | sed -n 's/^pykv_merges:\([0-9]*\).*/\1/p'; }
idle() { # waits until no merge runs
	for _ in $(seq 600); do
		cli INFO persistence | grep -q '^aof_rewrite_in_progress:0' && return
		sleep 0.2
	done
	die "a merge still runs after 120 s"
}
"$B/pykv-bench" -p "$NATIVE" -r 1000000 --preload 1000000 -t none >/dev/null
"$B/pykv-bench" -p "$NATIVE" -t set -r 1000000 -c 50 -P 16 -n 2000000 >/dev/null
cli BGREWRITEAOF >/dev/null
idle
declare -A ops p99 mx
for round in $(seq "$ROUNDS"); do
	for way in none full housekeeper; do
		before=$(merges)
		case $way in
		full) (sleep 0.5 && cli BGREWRITEAOF >/dev/null) & ;;
		housekeeper) (sleep 0.5 && conf 1 && kill -HUP "$P") & ;;
		*) true & ;;
		esac
		T=$!
		line=$("$B/pykv-bench" -p "$NATIVE" -t set -r 1000000 -c 50 -P 16 --duration 6s --json | tail -1)
		wait $T
		conf 0
		kill -HUP "$P"
		idle
		after=$(merges)
		echo "round $round, $way ($((after - before)) merges): $line"
		if [ "$way" != none ]; then
			cli INFO persistence | grep -E '^pykv_(merge_read_bytes|merge_written_bytes|last_merge_ms):' | tr '\r\n' '  '
			echo
		fi
		[ "$way" = none ] || [ $((after - before)) -gt 0 ] || die "round $round, $way: no merge ran"
		ops[$way]+="$(jfield ops_per_sec <<<"$line") "
		p99[$way]+="$(jfield p99_ms <<<"$line") "
		mx[$way]+="$(jfield max_ms <<<"$line") "
	done
done
echo "--- medians of $ROUNDS rounds (SET/s, p99 ms, max ms), and the ratio to no merge"
for way in none full housekeeper; do
	o=$(median ${ops[$way]}) q=$(median ${p99[$way]}) m=$(median ${mx[$way]})
	[ "$way" = none ] && { o0=$o q0=$q m0=$m; }
	awk -v w="$way" -v o="$o" -v q="$q" -v m="$m" -v o0="$o0" -v q0="$q0" -v m0="$m0" \
		'BEGIN { printf "%-12s %9.0f SET/s (%.2fx)  p99 %7.2f ms (%.2fx)  max %7.2f ms (%.2fx)\n", w, o, o/o0, q, q/q0, m, m/m0 }'
done
