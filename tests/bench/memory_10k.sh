#!/usr/bin/env bash
# Peak RSS with 10,000 concurrent keep-alive connections: strain vs wrk (and h2load, hey when
# installed), against one nginx on 127.0.0.1. Goal: strain at most 40 MiB.
# Usage: tests/bench/memory_10k.sh [BUILD_DIR]   env: CONNS=10000 SECONDS_EACH=10
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
strain=$build/tools/strain/strain
conns=${CONNS:-10000}
secs=${SECONDS_EACH:-10}
port=${PORT:-18091}
url="http://127.0.0.1:$port/"
ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < conns + 200 )); then
  echo "open-file limit $(ulimit -n) is too low for $conns connections on both ends" >&2
  exit 2
fi
source "$here/nginx_target.sh"
start_nginx "$port" 0
trap stop_nginx EXIT
out=$(mktemp -d)

measure() {  # name, command...
  local name=$1; shift
  /usr/bin/time -f "%M" -o "$out/rss" taskset -c 1 "$@" >"$out/log" 2>&1 || true
  local kib; kib=$(tail -n1 "$out/rss")
  printf '%-8s peak RSS %8.1f MiB   (%s)\n' "$name" "$(echo "$kib / 1024" | bc -l)" \
    "$(grep -m1 -E 'requests|Requests/sec|finished in' "$out/log" | tr -s ' ' | head -c 90)"
}

echo "$conns keep-alive connections, ${secs}s each"
measure strain "$strain" run --url "$url" -c "$conns" -d "${secs}s" -t 1 -q
measure wrk wrk -t1 -c"$conns" -d"${secs}s" "$url"
command -v h2load >/dev/null && measure h2load h2load --h1 -t1 -c"$conns" -D"$secs" "$url"
command -v hey >/dev/null && measure hey hey -c "$conns" -z "${secs}s" "$url"
rm -rf "$out"
