#!/usr/bin/env bash
# Fuzzes strain's parsers of outside input with libFuzzer (clang from Debian, ASan + UBSan).
#
#   tools/fuzz.sh [SECONDS] [NAME...]     each target SECONDS (default 60); all targets if none named
#
# Builds the fuzz preset (build/fuzz), then runs the targets two at a time (JOBS=N to change),
# each on a working copy of its seeds (build/fuzz/work/NAME, kept between runs so a long run
# builds on a short one; tests/fuzz/corpus stays as committed). A finding (crash, leak, timeout
# over 10 s that recurs when the input runs alone, more than 2 GiB) is copied to
# tests/fuzz/regressions/NAME/, where the unit test fuzz_replay_NAME replays it in every build
# from then on, and the script exits 1. `nice -n 19` or `chrt -i 0` lets a long run yield.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
all=(http_response option_strings lua_json csv result_json hlog hdr_codec prometheus)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${all[@]}")
jobs=${JOBS:-2}
export timeout_s=${FUZZ_TIMEOUT_S:-10}  # per input

command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing (tools/install-deps.sh)" >&2; exit 2; }
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${names[@]/#/fuzz_}"

# Executions in one libFuzzer log: its final count, or the last progress line's (#N) when it
# stopped on a timeout.
executions() {
  local n
  n=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$1" | tail -1 | grep -o '[0-9]*$' || true)
  [[ -z "$n" ]] && n=$(grep -o '^#[0-9]*' "$1" | tail -1 | tr -d '#' || true)
  echo "${n:-0}"
}

fuzz_one() {
  local name=$1 seconds=$2
  local work=build/fuzz/work/$name artifacts=build/fuzz/artifacts/$name
  local bin=build/fuzz/tests/fuzz/fuzz_"$name" log=build/fuzz/$name.log
  mkdir -p "$work" "$artifacts"
  cp -n tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null || true
  local deadline=$((SECONDS + seconds)) total=0 restarts=0 left input status
  : >"$log"
  while left=$((deadline - SECONDS)); ((left > 0)); do
    rm -f "$artifacts"/*
    status=0
    "$bin" "$work" -max_total_time="$left" -timeout="$timeout_s" -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log.part" 2>&1 || status=$?
    total=$((total + $(executions "$log.part")))
    cat "$log.part" >>"$log" && rm -f "$log.part"
    ((status == 0)) && break
    # libFuzzer's timeout is wall-clock time: on a busy machine (a build, CI, other targets) a
    # quick input can overrun it. Run alone again, an input that finishes within the timeout
    # in CPU time (ulimit -t) is not a finding, and fuzzing resumes for the time left.
    input=$(ls "$artifacts"/timeout-* 2>/dev/null | head -1 || true)
    if [[ -n "$input" ]] && (ulimit -t "$timeout_s" && exec timeout 600 "$bin" "$input") \
        >/dev/null 2>&1; then
      restarts=$((restarts + 1))
      echo "fuzz $name: a timeout that did not recur alone (a busy machine); resuming, $((deadline - SECONDS)) s left" >&2
      continue
    fi
    mkdir -p tests/fuzz/regressions/"$name"
    cp "$artifacts"/* tests/fuzz/regressions/"$name"/ 2>/dev/null || true
    echo "fuzz $name: FINDING, see $log; input kept in tests/fuzz/regressions/$name/" >&2
    grep -m5 -E 'ERROR|fuzz check failed|SUMMARY' "$log" >&2 || true
    return 1
  done
  local note=""
  ((restarts > 0)) && note=" ($restarts busy-machine timeouts not recurring alone)"
  echo "fuzz $name: ${seconds} s, $total executions, no finding ($(ls "$work" | wc -l) inputs)$note"
}
export -f executions
export -f fuzz_one

printf '%s\n' "${names[@]}" | xargs -P "$jobs" -I{} bash -c "fuzz_one {} $seconds"
