#!/bin/sh
# Interoperability with the reference implementation: strain writes an .hlog, Java's
# HistogramLogReader reads it and reports figures, Java's HistogramLogWriter writes it back,
# and strain checks both against brute-force percentiles of the same raw data.
# usage: hlog_interop.sh HLOG_INTEROP_BINARY HlogCheck.java WORK_DIR
set -eu
bin=$1
java_src=$2
work=$3
jar=${HDRHISTOGRAM_JAR:-/usr/share/java/hdrhistogram.jar}

missing=""
command -v javac >/dev/null 2>&1 || missing="$missing javac"
command -v java >/dev/null 2>&1 || missing="$missing java"
[ -f "$jar" ] || missing="$missing $jar"
if [ -n "$missing" ]; then
  echo "FAIL: the .hlog interop test needs the Java reference implementation; missing:$missing" >&2
  echo "      install it with: sudo apt-get install default-jdk-headless libhdrhistogram-java" >&2
  echo "      (or point HDRHISTOGRAM_JAR at an HdrHistogram jar)" >&2
  exit 1
fi

rm -rf "$work"
mkdir -p "$work/classes"
"$bin" write "$work"
javac -d "$work/classes" -cp "$jar" "$java_src"
java -cp "$jar:$work/classes" HlogCheck "$work/strain.hlog" "$work/java.hlog" >"$work/java.txt"
"$bin" check "$work"
