# bench/lib.sh: helpers the benchmark scripts share; sourced, not run.
# shellcheck shell=bash

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# port_free reports whether nothing accepts connections on a loopback port.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# next_port P: the first free port from P up, never Redis's or pykv's defaults.
next_port() {
	local p=$1
	while [[ $p == 6379 || $p == 737[0-9] || $p == 738[0-9] ]] || ! port_free "$p"; do
		p=$((p + 1))
	done
	echo "$p"
}

now_ns() { date +%s%N; }

# jfield NAME: the value of NAME in the flat JSON object on stdin.
jfield() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
