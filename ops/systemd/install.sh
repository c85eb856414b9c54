#!/usr/bin/env bash
# Installs Daiban for systemd on a Debian server (run as root):
#   - daiban-hub and daiban-node from BUILD_DIR (default: build-release/ of this checkout)
#     into /usr/local/bin (replaced atomically: a running node keeps the old binary until
#     it is restarted),
#   - the master data and sample configuration (config/) into /usr/local/share/daiban/config,
#     readable by the daiban user for `init --config`,
#   - the system user `daiban`, /var/lib/daiban and /var/backups/daiban (0700, daiban's),
#   - the units of this directory into /etc/systemd/system, then `systemctl daemon-reload`.
# It starts, enables and restarts nothing, and never touches a data directory; it prints
# the next steps. Safe to run again (upgrades: see docs/OPERATIONS.md).
#
# Usage: ops/systemd/install.sh [--dry-run] [BUILD_DIR]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
readonly HERE REPO
readonly BIN_DIR=/usr/local/bin
readonly SHARE_DIR=/usr/local/share/daiban
readonly UNIT_DIR=/etc/systemd/system
readonly DATA_ROOT=/var/lib/daiban
readonly BACKUP_ROOT=/var/backups/daiban
readonly SERVICE_USER=daiban
readonly UNITS=(daiban-hub.service daiban-node@.service daiban-backup@.service daiban-backup@.timer
                daiban-hub-backup.service daiban-hub-backup.timer)

usage() {
  cat <<EOF
Usage: $0 [--dry-run] [BUILD_DIR]

Installs daiban-hub and daiban-node from BUILD_DIR (default: $REPO/build-release) into
$BIN_DIR, the master data into $SHARE_DIR/config, the system user '$SERVICE_USER',
$DATA_ROOT and $BACKUP_ROOT (mode 700), and the systemd units into $UNIT_DIR.
Starts nothing. Must run as root; --dry-run prints what it would do (any user).
EOF
}

readonly ARGS="$*"
dry_run=0
build_dir=""
while (($#)); do
  case "$1" in
    --dry-run | -n) dry_run=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "install.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    *)
      if [[ -n "$build_dir" ]]; then echo "install.sh: one BUILD_DIR only" >&2; exit 2; fi
      build_dir="$1"
      ;;
  esac
  shift
done
build_dir="${build_dir:-$REPO/build-release}"

say() { printf '[daiban] %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

# Prints the command; runs it unless --dry-run.
run() {
  printf '  +'
  printf ' %q' "$@"
  printf '\n'
  if ((!dry_run)); then "$@"; fi
}

if ((!dry_run)) && [[ $EUID -ne 0 ]]; then
  die "must run as root (it installs into $BIN_DIR and $UNIT_DIR and creates the user '$SERVICE_USER'):
  sudo $0${ARGS:+ $ARGS}
or see what it would do first: $0 --dry-run"
fi

# ---- check everything before changing anything ----

# The binaries: BUILD_DIR/node/daiban-node and BUILD_DIR/server/daiban-hub (a CMake build
# tree), or both directly in BUILD_DIR.
find_binary() {
  local name="$1" sub="$2"
  for candidate in "$build_dir/$sub/$name" "$build_dir/$name"; do
    if [[ -f "$candidate" && -x "$candidate" ]]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}
[[ -d "$build_dir" ]] || die "no build directory $build_dir (build first: ./ops/demo.sh builds build-release/, or give BUILD_DIR)"
node_bin="$(find_binary daiban-node node)" || die "no executable daiban-node in $build_dir/node or $build_dir"
hub_bin="$(find_binary daiban-hub server)" || die "no executable daiban-hub in $build_dir/server or $build_dir"
for unit in "${UNITS[@]}"; do
  [[ -f "$HERE/$unit" ]] || die "missing unit file $HERE/$unit"
done
for sub in catalog calendar regions; do
  [[ -d "$REPO/config/$sub" ]] || die "missing master data $REPO/config/$sub"
done
for tool in install useradd getent; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed"
done
if ((dry_run)); then
  say "dry run: nothing is changed; as root it would run:"
fi

# ---- binaries ----

say "binaries into $BIN_DIR ($("$node_bin" version 2>/dev/null || echo 'daiban-node, version unknown'))"
for bin in "$node_bin" "$hub_bin"; do
  name="$(basename "$bin")"
  # Copy next to the target, then rename over it: atomic, and works while a node runs.
  run install -m 0755 -o root -g root "$bin" "$BIN_DIR/.$name.new"
  run mv -f "$BIN_DIR/.$name.new" "$BIN_DIR/$name"
done

# ---- master data and sample configuration, for `init --config` ----

say "master data and sample configuration into $SHARE_DIR/config"
run install -d -m 0755 -o root -g root "$SHARE_DIR" "$SHARE_DIR/config"
run cp -R --no-preserve=mode,ownership "$REPO/config/." "$SHARE_DIR/config/"
run chmod -R u=rwX,go=rX "$SHARE_DIR/config"

# ---- the service user and its directories ----

if getent passwd "$SERVICE_USER" >/dev/null; then
  say "system user '$SERVICE_USER' exists"
else
  say "system user '$SERVICE_USER'"
  run useradd --system --user-group --home-dir "$DATA_ROOT" --no-create-home \
    --shell /usr/sbin/nologin --comment "Daiban service" "$SERVICE_USER"
fi
say "$DATA_ROOT (data directories) and $BACKUP_ROOT (nightly backups), mode 700, owned by $SERVICE_USER"
# install -d sets mode and owner of the directory itself only; what is inside is left alone.
run install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA_ROOT"
run install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$BACKUP_ROOT"

# ---- units ----

say "systemd units into $UNIT_DIR"
for unit in "${UNITS[@]}"; do
  run install -m 0644 -o root -g root "$HERE/$unit" "$UNIT_DIR/$unit"
done
if [[ -d /run/systemd/system ]]; then
  run systemctl daemon-reload
  if ((!dry_run)); then
    mapfile -t running < <(systemctl list-units --no-legend --plain --state=active \
      'daiban-hub.service' 'daiban-node@*.service' 2>/dev/null | awk '{print $1}' || true)
    if ((${#running[@]})); then
      say "still running the previous binary until restarted (stop, back up, start: docs/OPERATIONS.md):"
      printf '    %s\n' "${running[@]}"
    fi
  fi
else
  say "systemd is not running on this machine: skipped 'systemctl daemon-reload'"
fi

# ---- what the operator does next ----

cat <<EOF

[daiban] installed$( ((dry_run)) && echo ' (dry run: nothing was changed)'). Nothing is started or enabled. Next steps (docs/OPERATIONS.md):

  Run every daiban command that touches a data directory as the daiban user
  (runuser -u daiban -- ...), so the files stay daiban's, from a root shell with
  'umask 077' (init creates the databases with your umask). Files given to init must be
  readable by daiban (e.g. copy ca.crt to $SHARE_DIR/ca.crt, mode 644).

  A field node (data directory $DATA_ROOT/NAME, e.g. NAME=village or township):
    runuser -u daiban -- daiban-node init --data $DATA_ROOT/NAME --config $SHARE_DIR/config \\
        --region CODE --tier village|township|county --enrol-code CODE \\
        --hub-url https://HUB:8701 --ca $SHARE_DIR/ca.crt --parent-url https://... --parent-id ID ...
    DAIBAN_PASSWORD='...' runuser -u daiban -- daiban-node user add --data $DATA_ROOT/NAME --name N --role agent|clerk
    systemctl enable --now daiban-node@NAME.service
    systemctl enable --now daiban-backup@NAME.timer      # nightly backup to $BACKUP_ROOT, 14 days kept
    journalctl -u daiban-node@NAME -f

  The city hub (data directory $DATA_ROOT/hub; the PKI directory, with ca.key, must be
  readable by daiban during init: copy it to a daiban-owned mode-700 directory and
  delete that copy afterwards):
    runuser -u daiban -- daiban-hub init --data $DATA_ROOT/hub --config $SHARE_DIR/config \\
        --region CITY_CODE --pki PKI_DIR --listen 0.0.0.0:8700 --sync-listen 0.0.0.0:8701
    systemctl enable --now daiban-hub.service
    systemctl enable --now daiban-hub-backup.timer

  Upgrading: systemctl stop the unit, back it up (systemctl start daiban-backup@NAME.service
  or daiban-hub-backup.service), run this script again with the new build, systemctl start.
EOF
