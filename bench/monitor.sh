#!/bin/bash
# bench/monitor.sh: SET -P 16 and -P 1 against pykvd with and without a
# MONITOR client attached (redis-cli MONITOR > /dev/null), alternating, three
# rounds. Needs `make build` (B=bin dir) and redis-cli.
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
B=$(cd "${B:-./bin}" && pwd)
NPORT=$(next_port 25301); PPORT=$(next_port $((NPORT + 1)))
D=$(mktemp -d); cd "$D" || exit 1
P="" M=""
trap 'kill $M $P 2>/dev/null; rm -rf "$D"' EXIT
$B/pykvd --data-dir $D/p --native-addr 127.0.0.1:$NPORT --resp-addr 127.0.0.1:$PPORT --http-addr "" --fsync everysec --log-level warn 2>/dev/null & P=$!
$B/pykv-bench -p $PPORT --protocol resp --wait-ready 20s >/dev/null
for _ in 1 2 3; do for mon in no yes; do for pipe in 16 1; do
  if [[ $mon == yes ]]; then redis-cli -p $PPORT MONITOR > /dev/null & M=$!; sleep 0.3; fi
  out=$($B/pykv-bench -p $PPORT --protocol resp -t set -c 50 -P $pipe -d 100 -r 100000 --duration 4s --json)
  echo "monitor=$mon P=$pipe ops=$(sed 's/.*"ops_per_sec":\([0-9]*\).*/\1/' <<<"$out") p99=$(sed 's/.*"p99_ms":\([0-9.]*\).*/\1/' <<<"$out")"
  if [[ $mon == yes ]]; then kill $M; wait $M 2>/dev/null; M=""; fi
done; done; done
kill $P; wait $P; rm -rf $D
