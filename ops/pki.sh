#!/usr/bin/env bash
# The city's certificates, made with the OpenSSL command line (docs/SECURITY.md).
#
#   ops/pki.sh ca  DIR [--days 3650]                       the city CA: DIR/ca.key, DIR/ca.crt
#   ops/pki.sh hub DIR --region CITYCODE [--host H]... [--days 825]
#                                                           the hub's key and certificate, signed
#                                                           by DIR/ca.key: DIR/hub.key, DIR/hub.crt
#
# Then `daiban-hub init --pki DIR` copies ca.crt, ca.key, hub.crt and hub.key into the hub's
# data directory (keys with mode 600). Nodes get their certificates from the hub at
# enrolment (daiban-hub enrol → a one-time code → daiban-node init --enrol-code); give each
# node operator ca.crt (public) so the node can check it is talking to this city's hub.
# Keys are EC P-256. ca.key is the city's root of trust: keep DIR offline and backed up.
set -euo pipefail

die() { echo "pki.sh: $*" >&2; exit 2; }
[ $# -ge 2 ] || die "usage: ops/pki.sh ca DIR [--days N] | ops/pki.sh hub DIR --region CODE [--host H]... [--days N]"
command -v openssl >/dev/null || die "openssl is not installed (apt-get install openssl)"
cmd=$1 dir=$2
shift 2
days="" region="" hosts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --days) days=$2; shift 2 ;;
    --region) region=$2; shift 2 ;;
    --host) hosts+=("$2"); shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done
mkdir -p "$dir"
umask 077

case "$cmd" in
  ca)
    [ -e "$dir/ca.key" ] && die "$dir/ca.key exists: refusing to replace the city CA (move it away first)"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$dir/ca.key" -sha256 -days "${days:-3650}" \
      -subj "/O=Daiban/CN=Daiban city CA $(date +%Y%m%d%H%M%S)-$RANDOM" \
      -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -addext "subjectKeyIdentifier=hash" -out "$dir/ca.crt"
    chmod 644 "$dir/ca.crt"
    echo "city CA: $dir/ca.crt (public) and $dir/ca.key (secret: keep offline and backed up)"
    ;;
  hub)
    [ -f "$dir/ca.key" ] && [ -f "$dir/ca.crt" ] || die "$dir has no ca.key/ca.crt: run ops/pki.sh ca $dir first"
    [[ "$region" =~ ^[0-9]{12}$ ]] || die "--region: the city's 12-digit code, e.g. 210900000000"
    [ ${#hosts[@]} -gt 0 ] || hosts=(127.0.0.1 localhost)
    san="URI:urn:daiban:node:hub:city:$region"
    for h in "${hosts[@]}"; do
      [[ "$h" =~ ^[A-Za-z0-9.:-]+$ ]] || die "--host: '$h' is not a host name or address"
      if [[ "$h" =~ ^[0-9.]+$ || "$h" == *:* ]]; then san+=",IP:$h"; else san+=",DNS:$h"; fi
    done
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/hub.key" 2>/dev/null
    ext=$(mktemp)
    trap 'rm -f "$ext" "$dir/hub.csr"' EXIT
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyAgreement" \
      "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=$san" >"$ext"
    openssl req -new -key "$dir/hub.key" -subj "/O=Daiban node/CN=hub" -out "$dir/hub.csr"
    openssl x509 -req -in "$dir/hub.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 12)" \
      -days "${days:-825}" -sha256 -extfile "$ext" -out "$dir/hub.crt" 2>/dev/null
    chmod 644 "$dir/hub.crt"
    echo "hub certificate: $dir/hub.crt for ${hosts[*]} (key $dir/hub.key)"
    ;;
  *) die "unknown command $cmd (ca or hub)" ;;
esac
