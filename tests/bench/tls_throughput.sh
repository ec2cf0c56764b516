#!/usr/bin/env bash
# Requests per client CPU-second over TLS, against one private nginx, in the same run:
#   https  HTTP/1.1 keep-alive, 50 connections: strain (native client, OpenSSL) vs wrk, and
#          strain --transport curl (the libcurl path) beside them
#   h2     HTTP/2 over TLS (ALPN), 10 connections x 100 streams: strain --http2 (native client,
#          nghttp2 framing) vs h2load, and strain --http2 --transport curl beside them
#   http   plain HTTP/1.1, 50 connections, for reference: strain native, strain --transport curl
#          (the libcurl path without TLS) and wrk
# nginx (one worker) is pinned to CPU 0, the client to CPU 1 (one thread each). A throwaway CA
# and server certificate (EC P-256, IP:127.0.0.1 and DNS:localhost) are made here with openssl;
# strain verifies it (--cacert), wrk and h2load do not verify. nginx keeps no session cache, but
# every connection is kept alive for the whole run, so handshakes are a start-up cost only.
# Each client runs RUNS times per measurement, alternating; medians are printed with the ratio.
# Usage: tests/bench/tls_throughput.sh [BUILD_DIR]   env: RUNS=3 SECONDS_EACH=5 PORT=18093
#        (PORT serves TLS, PORT+1 plain http)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
strain=$build/tools/strain/strain
runs=${RUNS:-3}
secs=${SECONDS_EACH:-5}
port=${PORT:-18093}
for tool in wrk h2load nginx openssl curl taskset timeout python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: tools/install-deps.sh --bench" >&2; exit 2; }
done
[[ -x $strain ]] || { echo "missing $strain: cmake --build --preset release" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"

source "$here/nginx_target.sh"
out=$(mktemp -d /tmp/strain-bench-tls.XXXXXX)
client=
cleanup() {
  if [[ -n $client ]]; then  # a client still running: end it (timeout's process group) first
    kill -- "-$client" 2>/dev/null || kill "$client" 2>/dev/null || true
    wait "$client" 2>/dev/null || true
  fi
  stop_nginx
  rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Throwaway CA and a server certificate it signs, both EC P-256, valid two days.
make_certs() {
  local d=$1
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=strain bench CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$d/server.key" -out "$d/server.csr"
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/server.ext" -out "$d/server.pem"
  openssl verify -CAfile "$d/ca.pem" "$d/server.pem"
}
mkdir "$out/tls"
make_certs "$out/tls" >"$out/openssl.log" 2>&1 || { cat "$out/openssl.log" >&2; exit 1; }
cacert=$out/tls/ca.pem

# Runs one client on CPU 1 under /usr/bin/time: output in $out/log, user+sys CPU seconds of the
# client process (all its threads) in $cpu. timeout ends it 60 s past its run (the EXIT trap
# sooner, if the script is stopped); a failed client stops the benchmark.
timed() {
  local code=0
  timeout -k 5 $((secs + 60)) /usr/bin/time -f "%U %S" -o "$out/time" taskset -c 1 "$@" \
    >"$out/log" 2>&1 &
  client=$!
  wait "$client" || code=$?
  client=
  if ((code != 0)); then
    echo "client failed (exit $code): $*" >&2
    tail -n 20 "$out/log" >&2
    exit 1
  fi
  cpu=$(awk '{print $1+$2}' "$out/time")
}

# Each sets $reqs (completed requests) and $cpu for one run; a warning if any failed.
strain_requests() {
  reqs=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['summary']['requests'])" "$out/strain.json")
  python3 - "$out/strain.json" "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
if s["errors"] or s["transport_errors"]:
    print(f"warning: {sys.argv[2]}: {s['errors']} failed requests, {s['transport_errors']} transport errors", file=sys.stderr)
PY
}
wrk_requests() {
  reqs=$(awk '/requests in/ {print $1}' "$out/log")
  if grep -qE 'Socket errors|Non-2xx' "$out/log"; then
    echo "warning: wrk: $(grep -E 'Socket errors|Non-2xx' "$out/log" | tr -s ' ' | paste -sd ';')" >&2
  fi
}
run_https_wrk() {
  timed wrk -t1 -c50 -d"${secs}s" "https://127.0.0.1:$port/"
  wrk_requests
}
run_https_strain() {
  timed "$strain" run -q -t 1 -c 50 -d "${secs}s" --url "https://127.0.0.1:$port/" \
    --cacert "$cacert" --out "$out/strain.json"
  strain_requests "strain https"
}
run_https_curl() {
  timed "$strain" run -q -t 1 -c 50 -d "${secs}s" --transport curl \
    --url "https://127.0.0.1:$port/" --cacert "$cacert" --out "$out/strain.json"
  strain_requests "strain https --transport curl"
}
run_h2_h2load() {
  timed h2load -c10 -m100 -t1 -D "$secs" "https://127.0.0.1:$port/"
  grep -q '^Application protocol: h2$' "$out/log" || { echo "h2load did not negotiate h2:" >&2; cat "$out/log" >&2; exit 1; }
  [[ -n ${h2load_tls:-} ]] || h2load_tls=$(awk -F': ' '/^TLS Protocol|^Cipher/ {print $2}' "$out/log" | paste -sd ' ')
  # "requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout"
  reqs=$(awk '/^requests:/ {print $8}' "$out/log")
  local bad; bad=$(awk '/^requests:/ {print $10}' "$out/log")
  ((bad == 0)) || echo "warning: h2load: $(grep '^requests:' "$out/log")" >&2
}
run_h2_strain() {
  timed "$strain" run -q -t 1 -c 1000 -d "${secs}s" --http2 --connections 10 --max-streams 100 \
    --url "https://127.0.0.1:$port/" --cacert "$cacert" --out "$out/strain.json"
  strain_requests "strain --http2"
}
run_h2_curl() {
  timed "$strain" run -q -t 1 -c 1000 -d "${secs}s" --http2 --connections 10 --max-streams 100 \
    --transport curl --url "https://127.0.0.1:$port/" --cacert "$cacert" --out "$out/strain.json"
  strain_requests "strain --http2 --transport curl"
}
run_http_wrk() {
  timed wrk -t1 -c50 -d"${secs}s" "http://127.0.0.1:$((port + 1))/"
  wrk_requests
}
run_http_strain() {
  timed "$strain" run -q -t 1 -c 50 -d "${secs}s" --url "http://127.0.0.1:$((port + 1))/" \
    --out "$out/strain.json"
  strain_requests "strain native"
}
run_http_curl() {
  timed "$strain" run -q -t 1 -c 50 -d "${secs}s" --transport curl \
    --url "http://127.0.0.1:$((port + 1))/" --out "$out/strain.json"
  strain_requests "strain --transport curl"
}

# RUNS alternating runs of each tool of one measurement, one line per run.
measure() {  # measurement, tools...
  local m=$1; shift
  local tool rate
  for tool in "$@"; do : >"$out/$m.$tool.rates"; done
  for ((i = 0; i < runs; i++)); do
    for tool in "$@"; do
      "run_${m}_$tool"
      rate=$(python3 -c "print(f'{$reqs/$cpu:.0f}')")
      echo "$rate" >>"$out/$m.$tool.rates"
      printf '%-6s %-9s %12.0f %12.2f %12s\n' "$m" "$tool" "$(python3 -c "print($reqs/$secs)")" "$cpu" "$rate"
    done
  done
}
# Median req per CPU-second of each tool and the ratios of strain's to the peer's (the first).
report() {  # measurement, description, peer, strain tools as tool=label...
  python3 - "$out" "$@" <<'PY'
import os, statistics, sys
out, m, what, peer, mine = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
def median(tool):
    return statistics.median(float(x) for x in open(os.path.join(out, f"{m}.{tool}.rates")))
mp = median(peer)
figs = [(label, median(tool)) for tool, label in (x.split("=", 1) for x in mine)]
print(f"== {what}: median req per CPU-second  {peer} {mp:,.0f}  "
      + "  ".join(f"{label} {v:,.0f}" for label, v in figs) + "  "
      + ", ".join(f"ratio {label}/{peer} {v/mp:.2f}" for label, v in figs))
PY
}

start_nginx_tls "$port" 0 "$out/tls/server.pem" "$out/tls/server.key"
printf '%-6s %-9s %12s %12s %12s\n' test tool "req/s" "cpu-s" "req/cpu-s"
measure https wrk strain curl
report https "https HTTP/1.1, 50 connections" wrk strain=strain "curl=libcurl path"
measure h2 h2load strain curl
report h2 "h2 over TLS, 10 connections x 100 streams" h2load strain=strain "curl=libcurl path"
echo "   (h2load negotiated ${h2load_tls:-?}; wrk and strain: their TLS libraries' defaults)"
stop_nginx

start_nginx "$((port + 1))" 0
measure http wrk strain curl
report http "http HTTP/1.1, 50 connections" wrk strain=strain "curl=libcurl path"
python3 - "$out" <<'PY'
import os, statistics, sys
median = lambda t: statistics.median(float(x) for x in open(os.path.join(sys.argv[1], f"http.{t}.rates")))
print(f"== http: libcurl path / native {median('curl') / median('strain'):.2f}")
PY
