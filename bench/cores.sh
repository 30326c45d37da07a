#!/bin/bash
# bench/cores.sh: throughput of pykvd and Redis 7 with the server on one
# core and on both, the client (pykv-bench) pinned to core 0. SET and GET
# -P 16, fsync everysec, 50 connections, 100-byte values, 100k keys, 5 s,
# RUNS rounds (default 3). Needs redis-server and `make build` (B=bin dir).
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
B=$(cd "${B:-./bin}" && pwd); D=$(mktemp -d); RUNS=${RUNS:-3}
RPORT=$(next_port 25100); NPORT=$(next_port $((RPORT + 1))); PPORT=$(next_port $((NPORT + 1)))
cd "$D" || exit 1 # so that no pykv.toml is picked up by chance
trap 'kill $RP $PP 2>/dev/null; rm -rf $D' EXIT
start() { # $1 = cpus
  taskset -c $1 redis-server --port $RPORT --save '' --appendonly yes --appendfsync everysec --dir $D --daemonize no --logfile $D/r.log & RP=$!
  taskset -c $1 $B/pykvd --data-dir $D/p --native-addr 127.0.0.1:$NPORT --resp-addr 127.0.0.1:$PPORT --http-addr "" --fsync everysec --log-level warn 2>$D/p.log & PP=$!
  $B/pykv-bench -p $RPORT --protocol resp --wait-ready 20s >/dev/null; $B/pykv-bench -p $PPORT --protocol resp --wait-ready 20s >/dev/null
  $B/pykv-bench -p $RPORT --protocol resp --preload 100000 -t none -c 8 -d 100 >/dev/null
  $B/pykv-bench -p $NPORT --protocol native --preload 100000 -t none -c 8 -d 100 >/dev/null
}
stop() { kill $RP $PP; wait $RP $PP 2>/dev/null; rm -rf "${D:?}"/*; }
for cpus in 1 0,1; do
  start $cpus
  for t in set get; do
    for r in $(seq $RUNS); do
      for srv in redis:$RPORT pykv:$PPORT; do
        ops=$(taskset -c 0 $B/pykv-bench -p ${srv#*:} --protocol resp -t $t -c 50 -P 16 -d 100 -r 100000 --duration 5s --json | sed 's/.*"ops_per_sec":\([0-9.]*\).*/\1/')
        echo "server_cpus=$cpus test=$t run=$r server=${srv%%:*} ops=${ops%.*}"
      done
    done
  done
  stop
done
