#!/usr/bin/env bash
# Quick start, one command: install dependencies, build (release), run the demo load test
# against the built-in target on 127.0.0.1 for ~10 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
exec build/release/tools/strain/strain demo "$@"
