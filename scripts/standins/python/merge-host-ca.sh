#!/bin/sh
# Adds every certificate of the host's trust store (argument 1) that the image's own
# /etc/ssl/certs/ca-certificates.crt lacks as a local CA (/usr/local/share/ca-certificates),
# then regenerates the bundle; fails unless the bundle then holds every host certificate.
set -eu
host_bundle="$1"
image_bundle=/etc/ssl/certs/ca-certificates.crt
out=/usr/local/share/ca-certificates/host
mkdir -p "$out"

# Prints the host certificates (one PEM block per record, NUL-free) missing from the image.
missing() {
  awk -v out="${1:-}" '
    FNR == 1 { file++ }
    /-----BEGIN CERTIFICATE-----/ { pem = ""; inside = 1 }
    inside { sub(/\r$/, ""); pem = pem $0 "\n" }
    /-----END CERTIFICATE-----/ && inside {
      inside = 0
      if (file == 1) { have[pem] = 1 }
      else if (!(pem in have)) {
        n++
        if (out != "") { f = sprintf("%s/host-ca-%03d.crt", out, n); printf "%s", pem > f; close(f) }
      }
    }
    END { print n + 0 }' "$image_bundle" "$host_bundle"
}

added="$(missing "$out")"
update-ca-certificates >/dev/null
left="$(missing)"
echo "merge-host-ca: added ${added} host certificate(s) to ${image_bundle}; ${left} missing"
[ "$left" -eq 0 ]
