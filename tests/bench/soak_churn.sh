#!/usr/bin/env bash
# No false leaks over longer runs: tests/integration/soak_churn_test.py with 10 seeds x 60 s, one
# at a time (strain-target --churn --transient 32MiB/3s --seed S; never `leak` on its rss). Prints
# each seed's verdict and the floor slope the test fits itself; exits non-zero on a false leak.
# Usage: tests/bench/soak_churn.sh [BUILD_DIR]
#   env: CHURN_SEEDS=10 CHURN_DURATION=60s CHURN_WARMUP=6s CHURN_PARALLEL=1 CHURN_RATE=300
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
export STRAIN=$build/tools/strain/strain STRAIN_TARGET=$build/tools/target/strain-target
[[ -x $STRAIN && -x $STRAIN_TARGET ]] || { echo "missing $STRAIN or $STRAIN_TARGET" >&2; exit 2; }
export CHURN_SEEDS=${CHURN_SEEDS:-10} CHURN_DURATION=${CHURN_DURATION:-60s} \
  CHURN_WARMUP=${CHURN_WARMUP:-6s} CHURN_PARALLEL=${CHURN_PARALLEL:-1} CHURN_RATE=${CHURN_RATE:-300}
export PYTHONPATH=$here/../integration
exec python3 "$here/../integration/soak_churn_test.py"
