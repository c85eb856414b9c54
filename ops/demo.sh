#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs a whole city of Daiban on this
# machine -- the 阜新市 hub, the county 阜新蒙古族自治县, the townships 阜新镇 and 东梁镇 and
# four of their villages, each a real process with its own data directory, SQLite store and
# certificate -- and drives a day of cases through it (ops/demo_city.py tells the story).
#
#   ./ops/demo.sh                  run the day, then keep the city up until Ctrl-C
#   ./ops/demo.sh --once           run the day, check, stop: exit 0 only if every node holds
#                                  the same cases as the hub and the hub's figures match
#   DAIBAN_DEMO_ONCE=1             the same as --once
#   DAIBAN_DEMO_PORT=9700          ports 9700/9701 (hub web/sync), 9710.. (nodes), 9750.. (link proxies)
# Sync runs over HTTPS with mutual TLS: ops/pki.sh makes the city CA and the hub's
# certificate, and each node enrols with a one-time code from the hub.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$DAIBAN_ROOT"

once="${DAIBAN_DEMO_ONCE:-}"
for arg in "$@"; do
  case "$arg" in
    --once) once=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg (try --help)" >&2; exit 2 ;;
  esac
done

daiban_install_deps
daiban_log "building (Release) in build-release/"
daiban_build build-release -DCMAKE_BUILD_TYPE=Release -DDAIBAN_TESTS=OFF

hub=build-release/server/daiban-hub
node=build-release/node/daiban-node

daiban_log "checking the master data shipped in config/"
"$hub" check-data --config config
daiban_log "a village agent checks a resident's ID number before filing"
"$node" check-id 11010519491231002X
"$node" check-id 110105194912310021 || true
echo

base="${DAIBAN_DEMO_PORT:-8700}"
data="$DAIBAN_ROOT/demo-data"
rm -rf "$data"
exec python3 ops/demo_city.py --bin build-release --data "$data" --port "$base" ${once:+--once}
