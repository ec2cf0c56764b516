#!/usr/bin/env bash
# A nightly job in miniature: last night's run is the baseline, tonight's is judged against it
# with `strain compare`, and both runs leave JUnit XML for the CI server to show.
# Tonight the service got 30% slower (strain-target --latency 65ms instead of 50ms): compare must
# flag the p99 regression and exit 3. A second run of last night's set-up must pass: the same
# service within the noise is not a regression. Traffic stays on 127.0.0.1.
# Usage: examples/nightly.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
build=${1:-$(dirname "$0")/../build/release}
target="$build/tools/target/strain-target"
strain="$build/tools/strain/strain"
out=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$out"' EXIT

# One night: the target with the given latency, 4 s of load, the result and its JUnit.
night() {
  local latency=$1 name=$2
  "$target" --host 127.0.0.1 --port 0 --threads 1 --latency "$latency" --exit-after 30s \
    >"$out/$name.log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 50); do grep -q listening "$out/$name.log" && break; sleep 0.1; done
  local url
  url=$(grep -o 'http://[^ ]*' "$out/$name.log")
  "$strain" run --url "$url" -d 4s -c 20 -t 1 -q --threshold 'errors{rate} < 1%' \
    --out "$out/$name.json" --junit "$out/$name.junit.xml" >/dev/null
  kill -TERM "$pid"; wait "$pid" || true
}

night 50ms baseline
night 50ms same
night 65ms slower

echo "== the same set-up again: within the noise, exit 0"
code=0
"$strain" compare "$out/baseline.json" "$out/same.json" --max-regression p99=10%,throughput=5% ||
  code=$?
[[ $code -eq 0 ]] || { echo "FAIL: an unchanged service was called a regression (exit $code)"; exit 1; }

echo "== tonight the service is 30% slower: exit 3"
code=0
"$strain" compare "$out/baseline.json" "$out/slower.json" --max-regression p99=10%,throughput=5% ||
  code=$?
[[ $code -eq 3 ]] || { echo "FAIL: a 30% slower service passed (exit $code)"; exit 1; }

grep -q '<testsuite ' "$out/slower.junit.xml" || { echo "FAIL: no JUnit XML"; exit 1; }
echo "nightly: the regression was caught, the rerun passed, JUnit written"
