#!/usr/bin/env bash
# Benchmarks: builds in Release and measures; writes the results into docs/BENCHMARKS.md
# (between the markers of each section) with the command, date and machine.
#
#   ./ops/bench.sh                 everything (default sizes; about 45 minutes on 2 cores)
#   ./ops/bench.sh sync            raw SQLite (the limit) and the sync layer in one process
#   ./ops/bench.sh wire            real processes over HTTPS against PouchDB, same cases, A/B
#   ./ops/bench.sh node            a real daiban-node process (filing latency, memory, sizes)
#   ./ops/bench.sh hub             the hub's ingest with statistics (shuffled, then in the order the
#                                  events happened), queries at 1M and 10M cases
#   ./ops/bench.sh hub-time        only the ingest in the order the events happened
#   ./ops/bench.sh city            the Yantai tree in one process (6,682 nodes), to convergence
#   WIRE_SIZES=10000 WIRE_REPS=3 ./ops/bench.sh wire      CITY_CASES=5000 CITY_DAYS=10 ./ops/bench.sh city
#   CASES=2000 REPS=3 NOOP_BIG=20000 ./ops/bench.sh sync     smaller, for a quick look
#   NOOP_FILL=0 ./ops/bench.sh wire   skip the no-op with 1,000,000 events at the township
#                                     (tests/fill_store adds them, ~1-2 min per repetition)
#
# The PouchDB peer (npm: pouchdb-node, pouchdb-server, versions pinned in
# tests/bench/pouch/package-lock.json) is installed into $DAIBAN_BENCH_TMP/pouch
# (default /tmp/daiban-bench), never into the repo; its server listens on 127.0.0.1 only.
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
cmake --build build-release --target sync_bench fill_store node_bench hub_bench city_bench >/dev/null
bench_tmp="${DAIBAN_BENCH_TMP:-/tmp/daiban-bench}"
mkdir -p "$bench_tmp"

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

# run_section NAME CMD...: runs a benchmark and writes its table into the NAME section.
run_section() {
  local name="$1"; shift
  local out
  out=$(mktemp)
  daiban_log "$name: $*"
  {
    echo "Measured $(machine) with \`$*\` (from \`./ops/bench.sh $name\`):"
    echo
    "$@"
  } >"$out"
  cat "$out"
  replace_section "$name" "$out"
  rm -f "$out"
  daiban_log "wrote the $name section of docs/BENCHMARKS.md"
}

if [ "$what" = all ] || [ "$what" = sync ]; then
  run_section sync ./build-release/tests/sync_bench --cases "${CASES:-10000}" --reps "${REPS:-5}" \
    --noop-big "${NOOP_BIG:-1000000}"
fi
if [ "$what" = all ] || [ "$what" = wire ]; then
  tests/bench/pouch/install.sh "$bench_tmp/pouch"
  # The Daiban side files its cases once per size (setup, not timed) and keeps a snapshot in
  # $bench_tmp/wire; delete that folder to file them again.
  run_section wire python3 tests/bench/compare.py --bin build-release --pouch-modules "$bench_tmp/pouch/node_modules" \
    --work "$bench_tmp/wire" --sizes "${WIRE_SIZES:-10000,100000}" --reps "${WIRE_REPS:-3,1}" \
    --noop-fill "${NOOP_FILL:-1000000}"
fi
if [ "$what" = all ] || [ "$what" = node ]; then
  run_section node ./build-release/tests/node_bench --node build-release/node/daiban-node --cases "${NODE_CASES:-2000}"
fi
if [ "$what" = all ] || [ "$what" = hub ]; then
  run_section hub ./build-release/tests/hub_bench --cases "${HUB_CASES:-20000}" --reps "${HUB_REPS:-3}" \
    --query-cases "${HUB_QUERY_CASES:-1000000,10000000}"
fi
if [ "$what" = all ] || [ "$what" = hub ] || [ "$what" = hub-time ]; then
  # The same ingest with the events in the order they happened (what a hub sees when nodes sync daily).
  run_section hub-time ./build-release/tests/hub_bench --cases "${HUB_CASES:-20000}" --reps "${HUB_REPS:-3}" \
    --query-cases 0 --order time
fi
if [ "$what" = all ] || [ "$what" = city ]; then
  # A year (CITY_CASES=2000000 CITY_DAYS=365) takes about 8 hours (disk: docs/BENCHMARKS.md, the city section);
  # the default is a month of 20,000 cases over the whole tree.
  run_section city ./build-release/tests/city_bench --cases "${CITY_CASES:-20000}" --days "${CITY_DAYS:-30}" \
    --dir "$bench_tmp/city"
fi
