#!/usr/bin/env bash
# Installs everything strain needs to build, test and benchmark, from Debian 12 packages only.
# Usage: tools/install-deps.sh [--bench]   (root, or a user with sudo)
set -euo pipefail

build=(g++ cmake ninja-build pkg-config
       libboost-dev libcurl4-openssl-dev liblua5.4-dev libcli11-dev doctest-dev
       nlohmann-json3-dev libfmt-dev zlib1g-dev libssl-dev libnghttp2-dev prometheus-cpp-dev
       help2man dpkg-dev)
# Fuzzing (tools/fuzz.sh): clang with libFuzzer and its sanitizer runtimes.
fuzz=(clang libclang-rt-14-dev)
# Tests: curl as an independent client, the Java HdrHistogram as the reference .hlog reader,
# openssl to make the TLS tests' certificates (and ca-certificates: libcurl's default trust),
# tmux to test the live console under a terminal, xmllint to validate the JUnit XML,
# headless chromium to load the HTML report and check that every chart drew.
tests=(curl python3 default-jdk-headless libhdrhistogram-java procps openssl ca-certificates
       tmux libxml2-utils chromium python3-yaml)
# Peers measured against in tests/bench (wrk, h2load, ab, hey) and nginx as a target.
bench=(wrk nghttp2-client apache2-utils hey nginx-light util-linux valgrind time bc)

want=("${build[@]}" "${tests[@]}" "${fuzz[@]}")
[[ "${1:-}" == "--bench" ]] && want+=("${bench[@]}")
# nginx is also an integration-test target.
want+=(nginx-light)

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: everything is installed"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian nginx package starts a system service on port 80; strain's tests run their own.
if command -v systemctl >/dev/null 2>&1; then $sudo systemctl disable --now nginx >/dev/null 2>&1 || true; fi
$sudo pkill -x nginx >/dev/null 2>&1 || true
echo "install-deps: done"
