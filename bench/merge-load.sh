#!/usr/bin/env bash
# merge-load.sh: what a running merge does to writes. Starts pykvd (fsync
# everysec) on loopback in a temporary directory, loads 1M keys of 100 bytes,
# overwrites them twice so that a merge has dead bytes to reclaim, then runs
# the same SET load twice: once alone and once with BGREWRITEAOF sent 0.5 s
# in. Prints both results and the merge's INFO figures.
#
# Usage: bench/merge-load.sh [BIN_DIR]   (default: ./bin, built by make build)
set -euo pipefail
B=${1:-./bin}
D=$(mktemp -d /tmp/pykv-merge-load.XXXXXX)
"$B/pykvd" --data-dir "$D/data" --fsync everysec --http-addr "" \
	--native-addr 127.0.0.1:17480 --resp-addr 127.0.0.1:17479 --log-level warn &
P=$!
trap 'kill $P 2>/dev/null; wait $P 2>/dev/null; rm -rf "$D"' EXIT
for _ in $(seq 100); do "$B/pykv-cli" -p 17480 PING >/dev/null 2>&1 && break; sleep 0.1; done
"$B/pykv-bench" -p 17480 -r 1000000 --preload 1000000 -t none >/dev/null
"$B/pykv-bench" -p 17480 -t set -r 1000000 -c 50 -P 16 -n 2000000 | tail -1
echo "--- no merge"
"$B/pykv-bench" -p 17480 -t set -r 1000000 -c 50 -P 16 --duration 6s | tail -1
echo "--- BGREWRITEAOF 0.5 s in"
(sleep 0.5; "$B/pykv-cli" -p 17480 BGREWRITEAOF >/dev/null) &
R=$!
"$B/pykv-bench" -p 17480 -t set -r 1000000 -c 50 -P 16 --duration 6s | tail -1
wait $R
for _ in $(seq 100); do
	"$B/pykv-cli" -p 17480 INFO persistence | grep -q '^aof_rewrite_in_progress:0' && break
	sleep 0.2
done
"$B/pykv-cli" -p 17480 INFO persistence | grep -E '^pykv_(merges|merge_reclaimed_bytes|last_merge_ms):'
