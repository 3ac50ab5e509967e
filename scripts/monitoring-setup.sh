#!/usr/bin/env bash
# `make monitoring-up`, before scripts/up.sh starts the stack with docker-compose.monitoring.yml
# (docs/monitoring.md): what the monitoring needs and the stack may not have yet.
#
#   scripts/monitoring-setup.sh [compose arguments naming the variant]   (none: Swarm)
#
# - The receiver of the alerts: ALERT_WEBHOOK_URL=https://... writes it into the secret file
#   (ALERT_WEBHOOK_URL_FILE, default SECRETS_DIR/alert_webhook_url); without either, stop
#   here naming both: alerts that reach nobody are worse than none.
# - The cache re-reads its ACL file, which now names the exporter's user (a stack started
#   before monitoring existed has it in the file only after scripts/secrets.sh).
# - Stand-ins of the monitoring images are built when the image variables name them
#   (machines without a registry; scripts/standins/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "error: $*" >&2; exit 1; }

url_file="${ALERT_WEBHOOK_URL_FILE:-${SECRETS_DIR:-.secrets}/alert_webhook_url}"
if [ -n "${ALERT_WEBHOOK_URL:-}" ]; then
  case "$ALERT_WEBHOOK_URL" in
    http://*|https://*) ;;
    *) die "ALERT_WEBHOOK_URL must be an http:// or https:// URL (got '${ALERT_WEBHOOK_URL}')" ;;
  esac
  mkdir -p "$(dirname "$url_file")"
  (umask 0022 && printf '%s\n' "$ALERT_WEBHOOK_URL" >"$url_file")
  echo "monitoring: alerts go to the URL now in ${url_file}"
elif [ ! -s "$url_file" ]; then
  die "no receiver for the alerts: ${url_file} is missing or empty. Set ALERT_WEBHOOK_URL=https://... once (make monitoring-up ALERT_WEBHOOK_URL=...), or ALERT_WEBHOOK_URL_FILE to a file holding the URL (docs/monitoring.md, \"Receivers\")"
fi

# Compose arguments name a running compose variant (a Swarm stack's cache, named by no
# arguments, loads its ACL file when its task starts).
compose=(docker compose "$@")
if [ "$#" -gt 0 ] && "${compose[@]}" ps --status running --services 2>/dev/null | grep -qx cache; then
  "${compose[@]}" exec -T cache sh -c \
    'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli --no-raw ACL LOAD' | grep -qx OK \
    || die "Redis refused to reload its ACL file (${SECRETS_DIR:-.secrets}/redis_users.acl)"
fi

# shellcheck source=scripts/base-images.sh
. scripts/base-images.sh
standins=()
for pair in prometheus:PROMETHEUS_IMAGE alertmanager:ALERTMANAGER_IMAGE \
  postgres-exporter:POSTGRES_EXPORTER_IMAGE redis-exporter:REDIS_EXPORTER_IMAGE \
  nginx-exporter:NGINX_EXPORTER_IMAGE; do
  variable="${pair#*:}"
  image="${!variable:-}"
  case "$image" in
    shortener-standin/*) docker image inspect "$image" >/dev/null 2>&1 || standins+=("${pair%%:*}") ;;
  esac
done
[ "${#standins[@]}" -eq 0 ] || scripts/standins/build.sh "${standins[@]}"
