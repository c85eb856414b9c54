#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs Daiban on this machine.
# It builds both binaries, checks the shipped master data, then starts a small city on
# loopback -- the hub, the 阜新镇 township centre and one of its villages -- files a case
# at the village, syncs it up, accepts it at the township and shows the new status back at
# the village. The city keeps running until Ctrl-C so the pages can be tried in a browser.
#
#   DAIBAN_DEMO_ONCE=1 ./ops/demo.sh     run the story and stop (no waiting)
#   DAIBAN_DEMO_PORT=9700 ./ops/demo.sh  ports 9700/9701 (hub web/sync), 9710/9712 (township
#                                        web/sync), 9711 (village)
# Sync runs over HTTPS with mutual TLS: ops/pki.sh makes the city CA and the hub's
# certificate, and each node enrols with a one-time code from the hub.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$DAIBAN_ROOT"

daiban_install_deps
daiban_log "building (Release) in build-release/"
daiban_build build-release -DCMAKE_BUILD_TYPE=Release -DDAIBAN_TESTS=OFF

hub=build-release/server/daiban-hub
node=build-release/node/daiban-node

daiban_log "checking the master data shipped in config/"
"$hub" check-data --config config
echo
daiban_log "a village agent checks a resident's ID number before filing"
"$node" check-id 11010519491231002X
"$node" check-id 110105194912310021 || true
echo

base="${DAIBAN_DEMO_PORT:-8700}"
hub_port=$base hub_sync=$((base + 1)) town_port=$((base + 10)) village_port=$((base + 11)) town_sync=$((base + 12))
data="$DAIBAN_ROOT/demo-data"
export DAIBAN_PASSWORD="daiban-demo"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
wait_up() {
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$1/api/health" >/dev/null && return 0
    sleep 0.1
  done
  echo "the server on port $1 did not start; see $data/*.log" >&2
  return 1
}
command -v curl >/dev/null || daiban_apt_install curl

daiban_log "a new city in $data: hub on :$hub_port, township 阜新镇 on :$town_port, village on :$village_port"
rm -rf "$data" && mkdir -p "$data"
daiban_log "the city's certificates (ops/pki.sh): a CA and the hub's certificate in $data/pki"
"$DAIBAN_ROOT/ops/pki.sh" ca "$data/pki"
"$DAIBAN_ROOT/ops/pki.sh" hub "$data/pki" --region 210900000000 --host 127.0.0.1
"$hub" init --data "$data/hub" --region 210900000000 --listen "127.0.0.1:$hub_port" \
  --sync-listen "127.0.0.1:$hub_sync" --pki "$data/pki" --config config
town_code=$("$hub" enrol --data "$data/hub" --region 210921100000 --tier township 2>/dev/null)
village_code=$("$hub" enrol --data "$data/hub" --region 210921100202 --tier village 2>/dev/null)
"$hub" user add --data "$data/hub" --name sup1 --role supervisor
"$hub" serve --data "$data/hub" >"$data/hub.log" 2>&1 & pids+=($!)
wait_up "$hub_port"
daiban_log "the township and the village enrol: each makes its own key, the hub signs its certificate"
"$node" init --data "$data/town" --region 210921100000 --tier township --listen "127.0.0.1:$town_port" \
  --sync-listen "127.0.0.1:$town_sync" --parent-url "https://127.0.0.1:$hub_sync" --parent-id hub \
  --enrol-code "$town_code" --hub-url "https://127.0.0.1:$hub_sync" --ca "$data/pki/ca.crt" \
  --config config --sync-interval-s 5
"$node" init --data "$data/village" --region 210921100202 --tier village --listen "127.0.0.1:$village_port" \
  --parent-url "https://127.0.0.1:$town_sync" --parent-id t210921100 \
  --enrol-code "$village_code" --hub-url "https://127.0.0.1:$hub_sync" --ca "$data/pki/ca.crt" \
  --config config --sync-interval-s 5
"$node" user add --data "$data/town" --name clerk1 --role clerk
"$node" user add --data "$data/village" --name agent1 --role agent
"$node" serve --data "$data/town" >"$data/town.log" 2>&1 & pids+=($!)
"$node" serve --data "$data/village" >"$data/village.log" 2>&1 & pids+=($!)
wait_up "$town_port" && wait_up "$village_port"
echo

daiban_log "the village agent files 临时救助申请 for a resident (materials: 申请书)"
id=$("$node" case file --data "$data/village" --user agent1 --json \
  '{"item":"MZ-003","applicant_name":"王芳","applicant_id":"11010519491231002X","applicant_phone":"13800138000","materials":["申请书"],"note":"腿脚不便，代办"}' \
  | python3 -c 'import json,sys; c=json.load(sys.stdin)["case"]; print(c["id"]); print("  status:", c["status_label"], "| sync:", c["sync"], "| ID number shown as", c["applicant_id"], file=sys.stderr)')
echo "  case $id"
daiban_log "sync: village -> township -> hub (the nodes also sync by themselves right after local work)"
"$node" sync --once --data "$data/village" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("  village synced:", r["pending"], "events still waiting to go up")'
"$node" sync --once --data "$data/town" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("  township synced:", r["pending"], "events still waiting to go up")'
daiban_log "the township clerk's inbox"
"$node" case list --data "$data/town" --user clerk1 --view inbox \
  | python3 -c 'import json,sys; [print("  ", c["id"], c["item_name"], c["applicant_name"], c["applicant_id"], c["status_label"]) for c in json.load(sys.stdin)["cases"]]'
daiban_log "the clerk accepts it: the working-day clock starts"
"$node" case step "$id" --data "$data/town" --user clerk1 --json '{"action":"accept"}' \
  | python3 -c 'import json,sys; c=json.load(sys.stdin)["case"]; print("  status:", c["status_label"], "| due:", c["due_date"])'
"$node" sync --once --data "$data/town" >/dev/null
"$node" sync --once --data "$data/village" >/dev/null
daiban_log "back at the village after the next sync"
"$node" case show "$id" --data "$data/village" --user agent1 \
  | python3 -c 'import json,sys; c=json.load(sys.stdin)["case"]; print("  status:", c["status_label"], "| due:", c["due_date"], "| sync:", c["sync"])'
daiban_log "the city hub's figures for 阜新市 this year"
sup=$(curl -sf -X POST "http://127.0.0.1:$hub_port/api/login" -d "{\"user\":\"sup1\",\"password\":\"$DAIBAN_PASSWORD\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
curl -sf "http://127.0.0.1:$hub_port/api/stats?region=210900000000" -H "Authorization: Bearer $sup" \
  | python3 -c 'import json,sys; s=json.load(sys.stdin); print("  received", s["received"], "| accepted", s["accepted"], "| proxy (代办)", s["proxy"], "| overdue now", s["overdue_now"])'
echo

if [ -n "${DAIBAN_DEMO_ONCE:-}" ]; then
  daiban_log "done (DAIBAN_DEMO_ONCE)"
  exit 0
fi
daiban_log "the city is running. Open in a browser (password: $DAIBAN_PASSWORD):"
echo "  village agent:  http://127.0.0.1:$village_port/   user agent1"
echo "  township clerk: http://127.0.0.1:$town_port/   user clerk1"
echo "  supervisor:     http://127.0.0.1:$hub_port/   user sup1 (the city dashboard)"
echo "  logs and data:  $data"
daiban_log "Ctrl-C stops the city"
wait
