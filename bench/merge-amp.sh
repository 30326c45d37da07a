#!/usr/bin/env bash
# merge-amp.sh: write and space amplification of pykvd's merges as the
# dataset grows (issue 18). For each keyspace size N in MERGE_SIZES it
# starts a fresh pykvd (fsync everysec, a 1 MiB value cache, default merge
# thresholds) on loopback, writes every key once (16-byte keys, 100-byte
# values), folds the log into one snapshot (SAVE), then sends
# MERGE_WRITES random SETs over the keyspace (redis-benchmark -P 16 -c 50),
# waits for the housekeeper's merges to end, and reports:
#
#   WA = bytes the daemon wrote (/proc/PID/io write_bytes) / (MERGE_WRITES * 116)
#   SA = bytes of the data directory at the end / (live keys * 116): the
#        snapshot files, the log not yet merged and the backlog of merged
#        segments kept for followers (storage.backlog_bytes)
#   disk per key: the one snapshot SAVE wrote / (N * 116), the dataset
#        fully merged
#
# with the number of merges and the bytes they wrote. The disk's figures
# are the kernel's, so a machine shared with other work does not change
# them much; the run takes about a minute per million keys.
#
# Usage: bench/merge-amp.sh [BIN_DIR]   (default ./bin, built by make build)
# Knobs: MERGE_SIZES (default "1000000 5000000 20000000"), MERGE_WRITES
# (default 5000000), MERGE_FLAGS (more pykvd flags, e.g.
# "--merge-dead-percent 65"), BENCH_QUICK=1 (sizes "200000 1000000", 1M
# writes).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
B=$(cd "${1:-./bin}" && pwd)
SIZES=${MERGE_SIZES:-"1000000 5000000 20000000"}
WRITES=${MERGE_WRITES:-5000000}
read -r -a FLAGS <<<"${MERGE_FLAGS:-}"
if [[ ${BENCH_QUICK:-} == 1 ]]; then
	SIZES="200000 1000000"
	WRITES=1000000
fi
command -v redis-benchmark >/dev/null || die "redis-benchmark is missing (make deps)"
command -v redis-cli >/dev/null || die "redis-cli is missing (make deps)"

T=$(mktemp -d /tmp/pykv-merge-amp.XXXXXX)
P=""
stop() {
	if [[ -n $P ]]; then
		kill "$P" 2>/dev/null || true
		wait "$P" 2>/dev/null || true
		P=""
	fi
}
trap 'stop; rm -rf "$T"' EXIT

info() { redis-cli -p "$port" INFO persistence | tr -d '\r' | awk -F: -v k="$1" '$1 == k {print $2}'; }
written() { awk '/^write_bytes/ {print $2}' "/proc/$P/io"; }

echo "| keyspace | writes | disk written / user bytes | merges | merge bytes written | disk / live bytes at the end | disk / key and value bytes, merged |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for n in $SIZES; do
	port=$(next_port 17600)
	native=$(next_port $((port + 1)))
	D="$T/$n"
	mkdir -p "$D"
	(cd "$D" && exec "$B/pykvd" --data-dir "$D/data" --fsync everysec --cache-bytes 1048576 --http-addr "" \
		--resp-addr "127.0.0.1:$port" --native-addr "127.0.0.1:$native" "${FLAGS[@]}" 2>"$D/log") &
	P=$!
	for _ in $(seq 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
	log "keyspace $n: loading"
	"$B/pykv-bench" -p "$native" -r "$n" --preload "$n" -t none >/dev/null
	# A background merge may be running: SAVE waits for none, so ask again.
	for _ in $(seq 600); do [[ $(redis-cli -p "$port" SAVE) == OK ]] && break; sleep 1; done
	merged=$(du -cb "$D"/data/*.snap | tail -1 | cut -f1)
	w0=$(written)
	m0=$(info pykv_merges)
	mw0=$(info pykv_merge_written_bytes)
	log "keyspace $n: $WRITES random SETs"
	redis-benchmark -p "$port" -t set -P 16 -c 50 -d 100 -r "$n" -n "$WRITES" -q >/dev/null
	# The housekeeper looks every 5 s and after each rotation, and waits
	# merge_min_interval (10 s) after a merge: the merges are over once
	# none has run or started for 30 s.
	quiet=0 last=$(info pykv_merges)
	for _ in $(seq 3600); do
		sleep 1
		now=$(info pykv_merges)
		if [[ $now != "$last" || $(info aof_rewrite_in_progress) != 0 ]]; then
			quiet=0 last=$now
		elif ((++quiet >= 30)); then
			break
		fi
	done
	w1=$(written)
	m1=$(info pykv_merges)
	mw1=$(info pykv_merge_written_bytes)
	keys=$(redis-cli -p "$port" DBSIZE | tr -d '\r')
	disk=$(du -sb "$D/data" | cut -f1)
	stop
	wa=$(awk -v a="$w0" -v b="$w1" -v w="$WRITES" 'BEGIN {printf "%.2fx", (b - a) / (w * 116)}')
	sa=$(awk -v d="$disk" -v k="$keys" 'BEGIN {printf "%.2fx", d / (k * 116)}')
	ss=$(awk -v d="$merged" -v n="$n" 'BEGIN {printf "%.2fx (%.0f B/key)", d / (n * 116), d / n}')
	echo "| $n | $WRITES | $wa | $((m1 - m0)) | $(((mw1 - mw0) >> 20)) MiB | $sa | $ss |"
	grep 'merge done' "$D/log" | sed -E 's/.*(files=[0-9]+ keys=[0-9]+).*(read_bytes=[0-9]+ written_bytes=[0-9]+ duration=[^ ]+).*/  merge: \1 \2/' >&2
	rm -rf "$D"
done
