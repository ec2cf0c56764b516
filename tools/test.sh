#!/usr/bin/env bash
# The whole test suite, one command: install dependencies, build, run unit + integration tests.
# Usage: tools/test.sh [PRESET]   (release by default; dev, asan and tsan work too)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
tools/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
if [[ "$preset" != tsan ]]; then
  ctest --preset "$preset" --output-on-failure
  exit 0
fi
# ThreadSanitizer writes its reports to files (the preset's log_path), so a race in a process a
# test killed or did not check still fails the run.
reports=build/tsan/tsan-reports
rm -rf "$reports" && mkdir -p "$reports"
status=0
ctest --preset tsan --output-on-failure || status=$?
if compgen -G "$reports/report.*" >/dev/null; then
  echo "tsan: ThreadSanitizer reports in $reports:" >&2
  head -n 60 "$reports"/report.* >&2
  status=1
fi
exit "$status"
