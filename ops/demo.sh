#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs Daiban on this machine.
# Today it builds both binaries, checks the shipped master data, and shows what the
# binaries can do. (A whole city on loopback comes with the node and hub issues.)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$DAIBAN_ROOT"

daiban_install_deps
daiban_log "building (Release) in build-release/"
daiban_build build-release -DCMAKE_BUILD_TYPE=Release -DDAIBAN_TESTS=OFF

hub=build-release/server/daiban-hub
node=build-release/node/daiban-node

daiban_log "the city hub: $hub"
"$hub" --help
echo
daiban_log "checking the master data shipped in config/"
"$hub" check-data --config config
echo
daiban_log "the field node: $node"
"$node" --help
echo
daiban_log "a village agent checks a resident's ID number before filing"
"$node" check-id 11010519491231002X
"$node" check-id 110105194912310021 || true
echo
daiban_log "a township clerk accepts a 5-working-day case on Friday 2025-01-24 (Spring Festival ahead)"
"$node" due-date --config config --accepted 2025-01-24 --days 5
