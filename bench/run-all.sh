#!/usr/bin/env bash
# Runs every benchmark in turn (as root: the dataplane ones build network namespaces), keeps each one's JSON in
# one directory, and prints the summary tables that bench/README.md shows.
#   bash bench/run-all.sh [output directory]     (default /tmp/bulkhead-bench-<date>-<time>)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/bulkhead-bench-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
for bench in core-verdicts full-sync change-latency connection-rate; do
  echo "== $bench" >&2
  start=$(date +%s)
  npx tsx "bench/$bench.ts" > "$out/$bench.json"
  echo "   $(( $(date +%s) - start )) s" >&2
done
npx tsx bench/summarize.ts "$out"
echo "JSON in $out" >&2
