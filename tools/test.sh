#!/usr/bin/env bash
# The whole test suite, one command: install dependencies, build, run unit + integration tests.
# Usage: tools/test.sh [PRESET]   (release by default; dev, asan and tsan work too)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
tools/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset" --output-on-failure
