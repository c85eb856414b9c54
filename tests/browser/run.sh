#!/usr/bin/env bash
# Runs one browser test in headless Chromium: the script named by the first argument
# (default node_ui.test.mjs, the field node's pages; dashboard.test.mjs is the hub's dashboard).
# Installs playwright-core from package-lock.json first when node_modules is missing or stale.
# Env: DAIBAN_NODE_BIN, DAIBAN_HUB_BIN, DAIBAN_CONFIG, CHROMIUM_BIN (see harness.mjs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

script="${1:-node_ui.test.mjs}"
if [ ! -f "$script" ]; then
  echo "run.sh: no test script $script in $(pwd)" >&2
  exit 2
fi

marker=node_modules/.package-lock.json  # npm rewrites it at every install
# The browser tests run in parallel under ctest: one installs while the other waits, so
# neither reads a half-written node_modules.
exec 9>"${TMPDIR:-/tmp}/daiban-browser-npm.lock"
flock 9
if [ ! -f "$marker" ] || [ package-lock.json -nt "$marker" ]; then
  npm ci --no-audit --no-fund
fi
flock -u 9

exec node "$script"
