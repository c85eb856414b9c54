# Shared by ops/*.sh: install what is missing, configure and build.
# Source it; do not run it.

DAIBAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian/Ubuntu packages the build and the tests need. Besides these, only the browser
# tests fetch playwright-core from the npm registry (tests/browser/run.sh, npm ci).
DAIBAN_APT_PACKAGES=(
  g++ cmake ninja-build pkg-config
  libsqlite3-dev sqlite3 libssl-dev openssl zlib1g-dev libbrotli-dev
  libpoco-dev libcpp-httplib-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev
  chromium fonts-wqy-microhei nodejs python3 faketime iproute2 util-linux curl
)
# npm for tests/browser: NodeSource's nodejs ships it and conflicts with Debian's npm package.
command -v npm >/dev/null 2>&1 || DAIBAN_APT_PACKAGES+=(npm)

daiban_log() { printf '\033[1m[daiban]\033[0m %s\n' "$*"; }

# Installs the packages in "$@" that are not installed yet. Works as root or with sudo.
daiban_apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  daiban_log "installing: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; return 1; }
    sudo="sudo"
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

daiban_install_deps() { daiban_apt_install "${DAIBAN_APT_PACKAGES[@]}"; }

# daiban_build DIR [cmake args...]: configure (once) and build everything in DIR.
daiban_build() {
  local dir="$1"; shift
  cmake -S "$DAIBAN_ROOT" -B "$DAIBAN_ROOT/$dir" -G Ninja "$@" >/dev/null
  cmake --build "$DAIBAN_ROOT/$dir" -j "$(nproc)"
}
