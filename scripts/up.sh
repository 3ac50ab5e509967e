#!/usr/bin/env bash
# `make up` / `make prod-up`: start the stack health-gated; print the URL, or the failing
# services' logs and a non-zero exit.
#
#   scripts/up.sh [--existing-secrets] [extra docker compose arguments, e.g. -f docker-compose.yml -f docker-compose.prod.yml]
#
# Development creates missing secrets in ${SECRETS_DIR:-.secrets} (scripts/secrets.sh).
# --existing-secrets (make prod-up) creates none: every secret file the compose files name
# must already exist, or it stops before starting anything, naming each missing one.
set -euo pipefail
cd "$(dirname "$0")/.."

existing_secrets=0
if [ "${1:-}" = --existing-secrets ]; then
  existing_secrets=1
  shift
fi

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

compose=(docker compose "$@")

if [ "$existing_secrets" -eq 1 ]; then
  # The resolved configuration names the files (and fails naming SECRETS_DIR if unset).
  if ! config="$("${compose[@]}" config)"; then
    echo "error: the compose configuration is not valid (see above); nothing was started" >&2
    exit 1
  fi
  # Each top-level secret's `file:` (the rendered YAML is canonical: two-space indents).
  mapfile -t files < <(printf '%s\n' "$config" | awk '
    /^[^ ]/ { in_secrets = ($0 == "secrets:") }
    in_secrets && /^    file: / { sub(/^    file: /, ""); gsub(/^["\047]|["\047]$/, ""); print }')
  if [ "${#files[@]}" -eq 0 ]; then
    echo "error: found no secret files in the compose configuration; nothing was started" >&2
    exit 1
  fi
  missing=()
  for file in "${files[@]}"; do
    if [ ! -e "$file" ]; then
      missing+=("$file (missing)")
    elif [ ! -s "$file" ]; then
      missing+=("$file (empty)")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    {
      echo "error: secret files missing or empty; nothing was started:"
      printf '  %s\n' "${missing[@]}"
      echo "  Production secrets are never generated here: create them once (scripts/secrets.sh DIR"
      echo "  makes every one), keep them outside the repository, and set SECRETS_DIR to that folder."
    } >&2
    exit 1
  fi
else
  scripts/secrets.sh "${SECRETS_DIR:-.secrets}"
fi
# shellcheck source=scripts/base-images.sh
. scripts/base-images.sh

project="$("${compose[@]}" config --format json | python3 -c 'import json, sys; print(json.load(sys.stdin)["name"])')"
# Production ran as the project `shortener` (development's name) until it got one of its
# own: its data may still be in that project's volume. Say so before starting empty.
if [ "$project" = shortener-prod ] && ! docker volume inspect shortener-prod_database-data >/dev/null 2>&1 \
  && docker volume inspect shortener_database-data >/dev/null 2>&1; then
  {
    echo "notice: production now runs as the compose project shortener-prod, with volumes of its own;"
    echo "  a volume shortener_database-data exists (development's, or production's from before)."
    echo "  Nothing in it is changed. If it holds production's data: make prod-down, then"
    echo "  COMPOSE_PROJECT_NAME=shortener make prod-up (or move the data: a backup, restored)."
  } >&2
fi

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

url="http://$("${compose[@]}" port proxy 8080 | tail -n1)"
tls_note=""
for arg in "$@"; do
  if [[ "$arg" == *docker-compose.tls.yml ]]; then
    # HTTPS (docs/tls.md): the name the certificate is for, and the port if not 443.
    https_port="$("${compose[@]}" port proxy 8443 | tail -n1)"
    https_port="${https_port##*:}"
    url="https://${PUBLIC_HOST}$([ "$https_port" = 443 ] || printf ':%s' "$https_port")"
    tls_note="  certificate: make tls-status (acme: issued within a minute of the first start)"
  fi
done
# The closing hint names the make targets of the variant just started; the key targets
# find the running project by name (Makefile, PROJECT), named here for production's.
stop="make down   remove data too: make clean"
project_arg=""
for arg in "$@"; do
  case "$arg" in
    *docker-compose.prod.yml)
      stop="make prod-down"
      project_arg=" PROJECT=${project}"
      ;;
  esac
done
echo
echo "The shortener is up: ${url}   (API reference: ${url}/api/docs)"
[ -z "$tls_note" ] || echo "$tls_note"
echo "  shorten: writes need an API key; make one (it is printed once), then send it:"
echo "    KEY=\$(make -s api-key NAME=me${project_arg})"
echo "    curl -sS -X POST -H \"Authorization: Bearer \$KEY\" -H 'Content-Type: application/json' -d '{\"url\":\"https://example.org/\"}' ${url}/api/links"
echo "  logs: make logs   stop: ${stop}"
monitoring=0
for arg in "$@"; do
  [[ "$arg" != *docker-compose.monitoring.yml ]] || monitoring=1
done
if [ "$monitoring" -eq 1 ]; then
  # docs/monitoring.md: what each alert means and what to do.
  echo "  monitoring: Prometheus http://$("${compose[@]}" port prometheus 9090 | tail -n1)" \
    "  alerts http://$("${compose[@]}" port alertmanager 9093 | tail -n1)   firing now: make alerts"
  grafana="$("${compose[@]}" port grafana 3000 2>/dev/null | tail -n1 || true)"
  [ -z "$grafana" ] || echo "  dashboards: Grafana http://${grafana} (admin, password in the secret grafana_admin_password)"
else
  echo "  monitoring (opt-in): make monitoring-up ALERT_WEBHOOK_URL=https://...   (docs/monitoring.md)"
fi
