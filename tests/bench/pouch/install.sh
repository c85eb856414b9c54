#!/bin/sh
# Install the PouchDB side of the replication benchmark into DIR (a temp dir the caller picks):
#
#   tests/bench/pouch/install.sh DIR     -> DIR/node_modules (pouchdb-node 9.0.0, pouchdb-server 4.2.0)
#
# Copies package.json and package-lock.json next to this script into DIR and runs
# `npm ci --no-audit --no-fund` there (exact versions from the lock file, npm registry only).
# Skipped when DIR/node_modules/.daiban-complete exists and was written for the same lock
# file (the marker holds the lock file's checksum), so calling it again is cheap.
# On success prints one line; on failure prints why to stderr and exits non-zero.
set -eu

die() { echo "pouch/install.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 DIR"
DIR=$1
HERE=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null 2>&1 || die "node not found (Node.js 18 or later is needed)"
command -v npm >/dev/null 2>&1 || die "npm not found"
mkdir -p "$DIR" || die "cannot create $DIR"
DIR=$(cd "$DIR" && pwd)

SUM=$(cksum < "$HERE/package-lock.json" | cut -d' ' -f1)
MARK="$DIR/node_modules/.daiban-complete"
if [ -f "$MARK" ] && [ "$(cat "$MARK")" = "$SUM" ]; then
  echo "pouch/install.sh: $DIR/node_modules already complete"
  exit 0
fi

cp "$HERE/package.json" "$HERE/package-lock.json" "$DIR/" || die "cannot copy package files to $DIR"
LOG="$DIR/npm-ci.log"
# npm ci removes any partial node_modules first, so a failed earlier run is repaired here.
if ! (cd "$DIR" && npm ci --no-audit --no-fund >"$LOG" 2>&1); then
  tail -n 20 "$LOG" >&2
  die "npm ci failed in $DIR (full log: $LOG)"
fi
# Check that the two packages load (leveldown's native binding comes from its bundled prebuilds).
if ! (cd "$DIR" && node -e "require('pouchdb-node'); require.resolve('pouchdb-server/bin/pouchdb-server')" >>"$LOG" 2>&1); then
  tail -n 20 "$LOG" >&2
  die "pouchdb-node or pouchdb-server does not load in $DIR (log: $LOG)"
fi
echo "$SUM" > "$MARK"
echo "pouch/install.sh: installed pouchdb-node 9.0.0 and pouchdb-server 4.2.0 in $DIR/node_modules"
