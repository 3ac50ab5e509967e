#!/usr/bin/env bash
# `make up` / `make prod-up`: start the stack health-gated; print the URL, or the failing
# services' logs and a non-zero exit.
#
#   scripts/up.sh [extra docker compose arguments, e.g. -f docker-compose.yml -f docker-compose.prod.yml]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! docker info >/dev/null 2>&1; then
  cat >&2 <<'MSG'
error: no Docker engine answers (docker info failed).
  Start Docker Desktop or your engine; on a bare Debian machine run as root:
    scripts/docker-engine.sh install && scripts/docker-engine.sh start
MSG
  exit 1
fi
if ! docker compose version >/dev/null 2>&1; then
  echo "error: 'docker compose' (Compose v2) is missing: scripts/docker-engine.sh install adds it" >&2
  exit 1
fi

scripts/secrets.sh "${SECRETS_DIR:-.secrets}"
# shellcheck source=scripts/base-images.sh
. scripts/base-images.sh

compose=(docker compose "$@")
# --wait returns once every service is healthy (or completed, for the migrate job).
if ! "${compose[@]}" up --detach --build --wait --wait-timeout "${UP_TIMEOUT:-300}"; then
  echo >&2
  echo "error: the stack did not become healthy. State of each service:" >&2
  "${compose[@]}" ps --all >&2 || true
  for service in $("${compose[@]}" config --services); do
    state="$("${compose[@]}" ps --all --format '{{.State}} {{.Health}}' "$service" 2>/dev/null | head -n1)"
    case "$state" in
      "running healthy"|"running ") ;;
      *)
        echo >&2
        echo "---- logs of ${service} (${state:-not created}) ----" >&2
        "${compose[@]}" logs --no-color --tail 40 "$service" >&2 || true
        ;;
    esac
  done
  exit 1
fi

port="$("${compose[@]}" port proxy 8080 | tail -n1)"
echo
echo "The shortener is up: http://${port}"
echo "  shorten:  curl -sS -X POST -H 'Content-Type: application/json' -d '{\"url\":\"https://example.org/\"}' http://${port}/api/links"
echo "  logs: make logs   stop: make down   remove data too: make clean"
