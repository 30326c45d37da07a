#!/bin/bash
# bench/monitor.sh: SET -P 16 and -P 1 with and without a MONITOR client
# attached, alternating, ROUNDS rounds (3), 4 s a run on a fresh server, then the medians of
# the throughput and of the server's CPU time per command (user and
# system, from /proc), which the load of a shared machine moves less.
#   MON=cli   the monitor is `redis-cli MONITOR > /dev/null`, which parses
#             and prints every line (its CPU shares the machine's cores);
#   MON=read  the monitor is bench/monread, which only reads and discards.
#   TARGET=pykvd (default) or TARGET=redis, a redis-server 7 on loopback
#             without persistence.
#   PORT      the first port to try (25301): the script takes the first two
#             free ones from there.
# A run whose monitor was disconnected (pykvd drops one that falls 4096
# lines behind) is reported as such and left out of the medians.
# Needs `make build` (B=bin dir), redis-cli, go for MON=read, and
# redis-server for TARGET=redis.
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
B=$(cd "${B:-./bin}" && pwd)
MON=${MON:-cli} TARGET=${TARGET:-pykvd} ROUNDS=${ROUNDS:-3}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NPORT=$(next_port "${PORT:-25301}"); PPORT=$(next_port $((NPORT + 1)))
D=$(mktemp -d); cd "$D" || exit 1
P="" M=""
trap 'kill $M $P 2>/dev/null; rm -rf "$D"' EXIT
if [[ $MON == read ]]; then (cd "$SRC" && go build -o "$D/monread" ./bench/monread) || die "building bench/monread"; fi
# start_server: a fresh server for each run, so that no run inherits the
# log, the merges or the cache of the runs before it (with one server for
# all runs, the later ones, the monitored ones among them, shared the cores
# with merges of what the earlier ones wrote).
start_server() {
  rm -rf "$D/p" "$D/dump.rdb"
  if [[ $TARGET == redis ]]; then
    redis-server --port $PPORT --bind 127.0.0.1 --save "" --appendonly no --dir $D >/dev/null 2>&1 & P=$!
  else
    $B/pykvd --data-dir $D/p --native-addr 127.0.0.1:$NPORT --resp-addr 127.0.0.1:$PPORT --http-addr "" --fsync everysec --log-level warn 2>/dev/null & P=$!
  fi
  $B/pykv-bench -p $PPORT --protocol resp --wait-ready 20s >/dev/null
}
stop_server() { kill $P; wait $P 2>/dev/null; P=""; }
# cpu_ticks: the server's user and system time so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' /proc/$P/stat; }
HZ=$(getconf CLK_TCK)
log "target=$TARGET monitor=$MON load average: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A ops cpu
for _ in $(seq "$ROUNDS"); do for mon in no yes; do for pipe in 16 1; do
  start_server
  if [[ $mon == yes ]]; then
    if [[ $MON == read ]]; then $D/monread -addr 127.0.0.1:$PPORT 2>/dev/null & M=$!
    else redis-cli -p $PPORT MONITOR > /dev/null 2>&1 & M=$!; fi
    sleep 0.3
  fi
  t0=$(cpu_ticks)
  out=$($B/pykv-bench -p $PPORT --protocol resp -t set -c 50 -P $pipe -d 100 -r 100000 --duration 4s --json)
  t1=$(cpu_ticks)
  n=$(jfield ops_per_sec <<<"$out"); n=${n%.*}
  us=$(awk "BEGIN {printf \"%.2f\", ($t1 - $t0) / $HZ * 1e6 / $(jfield requests <<<"$out")}")
  note=""
  if [[ $mon == yes ]]; then
    if kill $M 2>/dev/null; then wait $M 2>/dev/null; else note=" (monitor disconnected: left out)"; fi
    M=""
  fi
  echo "target=$TARGET monitor=$mon($MON) P=$pipe ops=$n cpu_us_per_cmd=$us p99=$(jfield p99_ms <<<"$out")$note"
  if [[ -z $note ]]; then ops[$mon$pipe]+=" $n"; cpu[$mon$pipe]+=" $us"; fi
  stop_server
done; done; done
for pipe in 16 1; do
  # shellcheck disable=SC2086
  no=$(median ${ops[no$pipe]}) yes=$(median ${ops[yes$pipe]:-0}) cno=$(median ${cpu[no$pipe]}) cyes=$(median ${cpu[yes$pipe]:-0})
  echo "median target=$TARGET P=$pipe ops without=$no with($MON)=$yes ratio=$(awk "BEGIN {printf \"%.2f\", $yes / $no}")" \
    "cpu_us_per_cmd without=$cno with=$cyes"
done
log "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
