#!/usr/bin/env bash
# Fuzzes strain's parsers of outside input with libFuzzer (clang from Debian, ASan + UBSan).
#
#   tools/fuzz.sh [SECONDS] [NAME...]     each target SECONDS (default 60); all targets if none named
#
# Builds the fuzz preset (build/fuzz), then runs the targets two at a time (JOBS=N to change),
# each on a working copy of its seeds (build/fuzz/work/NAME, kept between runs so a long run
# builds on a short one; tests/fuzz/corpus stays as committed). A finding (crash, leak, timeout
# over 10 s, more than 2 GiB) is copied to tests/fuzz/regressions/NAME/, where the unit test
# fuzz_replay_NAME replays it in every build from then on, and the script exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
all=(http_response option_strings lua_json csv result_json hlog hdr_codec prometheus)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${all[@]}")
jobs=${JOBS:-2}

command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing (tools/install-deps.sh)" >&2; exit 2; }
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${names[@]/#/fuzz_}"

fuzz_one() {
  local name=$1 seconds=$2
  local work=build/fuzz/work/$name artifacts=build/fuzz/artifacts/$name
  mkdir -p "$work" "$artifacts"
  cp -n tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null || true
  local log=build/fuzz/$name.log
  if build/fuzz/tests/fuzz/fuzz_"$name" "$work" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" \
      >"$log" 2>&1; then
    local runs
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz $name: ${seconds} s, $runs executions, no finding ($(ls "$work" | wc -l) inputs)"
  else
    mkdir -p tests/fuzz/regressions/"$name"
    cp "$artifacts"/* tests/fuzz/regressions/"$name"/ 2>/dev/null || true
    echo "fuzz $name: FINDING, see $log; input kept in tests/fuzz/regressions/$name/" >&2
    grep -m5 -E 'ERROR|fuzz check failed|SUMMARY' "$log" >&2 || true
    return 1
  fi
}
export -f fuzz_one

printf '%s\n' "${names[@]}" | xargs -P "$jobs" -I{} bash -c "fuzz_one {} $seconds"
