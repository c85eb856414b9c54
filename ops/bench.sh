#!/usr/bin/env bash
# Benchmarks: builds in Release and measures; writes the results into docs/BENCHMARKS.md
# (between the markers of each section) with the command, date and machine.
#
#   ./ops/bench.sh                 everything (default sizes)
#   ./ops/bench.sh sync            only the sync layer in one process
#   ./ops/bench.sh node            only a real daiban-node process (filing latency, memory)
#   CASES=2000 REPS=3 NOOP_BIG=20000 ./ops/bench.sh sync     smaller, for a quick look
#
# Speed goals are checked here, never by timed assertions in the tests. Run on an idle
# machine: the figures are medians of repetitions but another load still skews them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$DAIBAN_ROOT"

what="${1:-all}"
daiban_install_deps
daiban_log "building (Release) in build-release/"
daiban_build build-release -DCMAKE_BUILD_TYPE=Release -DDAIBAN_TESTS=ON
cmake --build build-release --target sync_bench node_bench >/dev/null

machine() {
  local cpu
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
  echo "$(date -u +%Y-%m-%d), $(nproc) cores (${cpu:-unknown CPU}), $(uname -sr), $(sqlite3 --version | cut -d' ' -f1 | sed 's/^/SQLite /')"
}

# replace_section NAME FILE: puts FILE's content between <!-- NAME:begin --> and <!-- NAME:end -->.
replace_section() {
  local name="$1" body="$2" doc=docs/BENCHMARKS.md
  python3 - "$doc" "$name" "$body" <<'PY'
import sys
doc, name, body = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
text = open(doc).read()
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
if begin not in text or end not in text:
    sys.exit(f"{doc} has no {begin} ... {end} section")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(doc, "w").write(head + begin + "\n" + body.rstrip() + "\n" + end + tail)
PY
}

if [ "$what" = all ] || [ "$what" = sync ]; then
  cases="${CASES:-10000}" reps="${REPS:-5}" big="${NOOP_BIG:-1000000}"
  out=$(mktemp)
  cmd="./build-release/tests/sync_bench --cases $cases --reps $reps --noop-big $big"
  daiban_log "sync layer: $cmd"
  {
    echo "Measured $(machine) with \`$cmd\` (from \`./ops/bench.sh sync\`):"
    echo
    $cmd
  } >"$out"
  cat "$out"
  replace_section sync "$out"
  rm -f "$out"
  daiban_log "wrote the sync section of docs/BENCHMARKS.md"
fi

if [ "$what" = all ] || [ "$what" = node ]; then
  out=$(mktemp)
  cmd="./build-release/tests/node_bench --node build-release/node/daiban-node --cases ${NODE_CASES:-2000}"
  daiban_log "field node: $cmd"
  {
    echo "Measured $(machine) with \`$cmd\` (from \`./ops/bench.sh node\`):"
    echo
    $cmd
  } >"$out"
  cat "$out"
  replace_section node "$out"
  rm -f "$out"
  daiban_log "wrote the node section of docs/BENCHMARKS.md"
fi
