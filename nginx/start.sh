#!/usr/bin/env bash
# The proxy's entrypoint: sets up the edge TLS_MODE asks for (docs/tls.md), then becomes
# nginx (exec: nginx is PID 1 and gets Docker's signals).
#
#   TLS_MODE      off (default): plain HTTP on 8080, TLS ends in front of nginx
#                 acme: HTTPS on 8443 with the certificate the `certs` service keeps in
#                       /certs/live; port 8080 serves its ACME challenges, 308s the rest
#                 files: HTTPS with the certificate and key given as the secrets
#                       tls_certificate and tls_private_key
#   PUBLIC_HOST   acme, files: the host name (the 308's target)
#   HSTS_MAX_AGE  acme, files: Strict-Transport-Security max-age, seconds (default 1 year)
#
# The configuration nginx.conf includes from /tmp/nginx is copied from edge/ here, with
# the settings filled in: nginx reads no environment. A bad setting stops the start,
# naming it.
set -euo pipefail

EDGE=/etc/nginx/edge
RENDERED=/tmp/nginx
CERTIFICATE=/certs/live/fullchain.pem
KEY=/certs/live/privkey.pem
SECRETS=/run/secrets

say() { printf 'proxy: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# A file from edge/ into /tmp/nginx, each __NAME__ replaced by the value of NAME.
render() {  # render SOURCE TARGET [NAME=VALUE ...]
  local text
  text="$(<"$EDGE/$1")"
  local pair
  for pair in "${@:3}"; do
    text="${text//__${pair%%=*}__/${pair#*=}}"
  done
  printf '%s\n' "$text" >"$RENDERED/$2.partial"
  mv "$RENDERED/$2.partial" "$RENDERED/$2"
}

# HTTPS with the certificate now at $1 (key $2); port 8080 redirects.
serve_https() {
  render listen-tls.conf.template listen.conf "CERTIFICATE=$1" "KEY=$2"
  render port-80-redirect.conf.template port-80.conf "PUBLIC_HOST=$PUBLIC_HOST"
}

# acme: a changed certificate (or the first) becomes the one served by a reload: nginx's
# master stays, new workers take the new certificate, old ones finish their requests.
# A poll, not inotify: no extra package, and a volume written by another container
# (the keeper's atomic symlink swap, certs/shortener_certs/publish.py) is seen either way.
watch_certificate() {
  local seen="" now output
  [ -r "$CERTIFICATE" ] && seen="$(cksum <"$CERTIFICATE")"
  while sleep "${CERTIFICATE_POLL_SECONDS:-5}"; do
    [ -r "$CERTIFICATE" ] || continue
    now="$(cksum <"$CERTIFICATE")" || continue
    [ "$now" != "$seen" ] || continue
    seen="$now"
    serve_https "$CERTIFICATE" "$KEY"
    if output="$(nginx -t -q 2>&1)"; then
      nginx -s reload
      say "new certificate in $CERTIFICATE (cksum ${now%% *}): nginx reloaded, serving HTTPS with it"
    else
      say "error: the new certificate in $CERTIFICATE does not load; still serving the previous one: $output"
    fi
  done
}

# files: the pair must load together before nginx starts; nginx -t on a configuration
# holding only them says which is wrong (a mismatched key: "key values mismatch").
check_certificate_files() {
  local secret
  for secret in tls_certificate tls_private_key; do
    [ -e "$SECRETS/$secret" ] || die "TLS_MODE=files: the secret $secret ($SECRETS/$secret) is missing"
    [ -s "$SECRETS/$secret" ] || die "TLS_MODE=files: the secret $secret ($SECRETS/$secret) is empty"
    [ -r "$SECRETS/$secret" ] || die "TLS_MODE=files: the secret $secret ($SECRETS/$secret) cannot be read by uid $(id -u)"
  done
  cat >"$RENDERED/check-files.conf" <<CHECK
pid $RENDERED/check.pid;
events {}
http {
    include /etc/nginx/includes/serving.conf;  # temp paths under /tmp, as nginx.conf's
    server { listen 127.0.0.1:9 ssl; ssl_certificate $SECRETS/tls_certificate; ssl_certificate_key $SECRETS/tls_private_key; }
}
CHECK
  local output
  if ! output="$(nginx -t -q -c "$RENDERED/check-files.conf" 2>&1)"; then
    die "TLS_MODE=files: the secrets tls_certificate and tls_private_key do not load as a certificate and its key: $output"
  fi
}

mode="${TLS_MODE:-off}"
case "$mode" in
  off | acme | files) ;;
  *) die "TLS_MODE=$mode: must be acme, files or off (docs/tls.md)" ;;
esac
mkdir -p "$RENDERED"

if [ "$mode" = off ]; then
  cp "$EDGE/off.conf" "$RENDERED/edge.conf"
  cp "$EDGE/listen-off.conf" "$RENDERED/listen.conf"
  exec nginx -g 'daemon off;'
fi

# acme and files: the name and the HSTS lifetime go into the configuration, so both are
# checked to be exactly what they claim before they do.
PUBLIC_HOST="${PUBLIC_HOST:-}"
[ -n "$PUBLIC_HOST" ] || die "TLS_MODE=$mode needs PUBLIC_HOST, the host name to serve (e.g. short.example.org)"
[[ "$PUBLIC_HOST" =~ ^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$ ]] \
  || die "PUBLIC_HOST=$PUBLIC_HOST: not a lower-case DNS name (no scheme, port or IP)"
hsts="${HSTS_MAX_AGE:-31536000}"
[[ "$hsts" =~ ^[0-9]{1,9}$ ]] || die "HSTS_MAX_AGE=$hsts: a number of seconds (0 turns HSTS off in browsers)"
render tls.conf.template edge.conf "HSTS_MAX_AGE=$hsts"

if [ "$mode" = files ]; then
  check_certificate_files
  serve_https "$SECRETS/tls_certificate" "$SECRETS/tls_private_key"
  say "TLS_MODE=files: serving HTTPS for $PUBLIC_HOST with the secrets tls_certificate and tls_private_key"
  exec nginx -g 'daemon off;'
fi

if [ -r "$CERTIFICATE" ]; then
  serve_https "$CERTIFICATE" "$KEY"
  say "TLS_MODE=acme: serving HTTPS for $PUBLIC_HOST with $CERTIFICATE"
else
  cp "$EDGE/listen-waiting.conf" "$RENDERED/listen.conf"
  cp "$EDGE/port-80-waiting.conf" "$RENDERED/port-80.conf"
  say "TLS_MODE=acme: waiting for the first certificate for $PUBLIC_HOST ($CERTIFICATE, written by" \
    "the certs service); until then port 8080 answers ACME challenges and 503, and port 8443" \
    "refuses TLS handshakes"
fi
# Runs beside nginx for the container's life (its parent becomes nginx, PID 1).
watch_certificate &
exec nginx -g 'daemon off;'
