#!/usr/bin/env bash
# Decides which base images the stack and the tests use, and makes sure they exist.
# Meant to be sourced (`. scripts/base-images.sh`) so the choice is exported to the caller.
#
# - Variables already set (PYTHON_IMAGE, POSTGRES_IMAGE, REDIS_IMAGE, NGINX_IMAGE) win,
#   from the environment or from .env (which Compose reads too).
# - Otherwise the official, pinned images are used if present or pullable.
# - If one cannot be pulled (no registry access), the Debian-built stand-ins are built
#   (scripts/standins/build.sh) and used, the choice is written to .env with a notice,
#   so `docker compose ...` typed by hand agrees with make.

_bi_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_bi_env="${_bi_root}/.env"

if [ -f "$_bi_env" ]; then
  set -a
  # shellcheck disable=SC1090
  . "$_bi_env"
  set +a
fi

_bi_official=(
  "PYTHON_IMAGE=python:3.13-slim-trixie"
  "POSTGRES_IMAGE=postgres:17-trixie"
  "REDIS_IMAGE=redis:8.0"
  "NGINX_IMAGE=nginx:1.28-trixie"
)

_bi_all_set=1
for _bi_pair in "${_bi_official[@]}"; do
  _bi_name="${_bi_pair%%=*}"
  [ -n "${!_bi_name:-}" ] || _bi_all_set=0
done

_bi_have() { docker image inspect "$1" >/dev/null 2>&1; }

if [ "$_bi_all_set" -eq 0 ]; then
  _bi_use_standins=0
  for _bi_pair in "${_bi_official[@]}"; do
    _bi_image="${_bi_pair#*=}"
    if ! _bi_have "$_bi_image" && ! timeout 120 docker pull --quiet "$_bi_image" >/dev/null 2>&1; then
      _bi_use_standins=1
      break
    fi
  done
  if [ "$_bi_use_standins" -eq 1 ]; then
    echo "notice: the official base images cannot be pulled (no registry access?);" >&2
    echo "notice: building and using local stand-ins from Debian packages instead" >&2
    echo "notice: (scripts/standins/README.md; the choice is saved in .env, delete it to retry)." >&2
    # Other settings in .env stay (the database's after `make db-upgrade`: losing them
    # would start the old major on its old volume, which refuses; docs/backups.md).
    _bi_keep="$(grep -vE "^($(grep -oE '^[A-Z_]+' "${_bi_root}/scripts/standins/env" | paste -sd '|'))=|^# (Written by scripts/base-images.sh|stack uses local stand-ins)" \
      "$_bi_env" 2>/dev/null || true)"
    {
      echo "# Written by scripts/base-images.sh: official images could not be pulled, so the"
      echo "# stack uses local stand-ins built from Debian packages. Delete this file to retry."
      grep -E '^[A-Z_]+=' "${_bi_root}/scripts/standins/env"
      [ -z "$_bi_keep" ] || printf '%s\n' "$_bi_keep"
    } >"$_bi_env"
    set -a
    # shellcheck disable=SC1090
    . "$_bi_env"
    set +a
  else
    for _bi_pair in "${_bi_official[@]}"; do
      _bi_name="${_bi_pair%%=*}"
      [ -n "${!_bi_name:-}" ] || export "${_bi_pair}"
    done
  fi
fi

# The next PostgreSQL major, the target of `make db-upgrade` and its drill (docs/backups.md):
# pulled or built only when an upgrade needs it, so not among the images checked above.
if [ -z "${POSTGRES_UPGRADE_IMAGE:-}" ]; then
  case "$POSTGRES_IMAGE" in
    shortener-standin/*) POSTGRES_UPGRADE_IMAGE="$(sed -n 's/^POSTGRES_UPGRADE_IMAGE=//p' "${_bi_root}/scripts/standins/env")" ;;
    *) POSTGRES_UPGRADE_IMAGE=postgres:18-trixie ;;
  esac
fi

# The opt-in monitoring set (Prometheus, Alertmanager, the exporters): likewise not among the
# images checked above; stand-ins where the database is one, else the official tags.
_bi_monitoring=(
  "PROMETHEUS_IMAGE=prom/prometheus:v2.53.3"
  "ALERTMANAGER_IMAGE=prom/alertmanager:v0.28.1"
  "POSTGRES_EXPORTER_IMAGE=quay.io/prometheuscommunity/postgres-exporter:v0.17.1"
  "REDIS_EXPORTER_IMAGE=oliver006/redis_exporter:v1.69.0-alpine"
  "NGINX_EXPORTER_IMAGE=nginx/nginx-prometheus-exporter:1.4.1"
)
for _bi_pair in "${_bi_monitoring[@]}"; do
  _bi_name="${_bi_pair%%=*}"
  [ -z "${!_bi_name:-}" ] || continue
  case "$POSTGRES_IMAGE" in
    shortener-standin/*) _bi_image="$(sed -n "s/^${_bi_name}=//p" "${_bi_root}/scripts/standins/env")" ;;
    *) _bi_image="${_bi_pair#*=}" ;;
  esac
  printf -v "$_bi_name" '%s' "$_bi_image"
done

# Stand-ins are built on demand (skipped when present); official images were pulled above.
if [[ "${PYTHON_IMAGE}${POSTGRES_IMAGE}${REDIS_IMAGE}${NGINX_IMAGE}${POSTGRES_UPGRADE_IMAGE}${PROMETHEUS_IMAGE}${ALERTMANAGER_IMAGE}${POSTGRES_EXPORTER_IMAGE}${REDIS_EXPORTER_IMAGE}${NGINX_EXPORTER_IMAGE}" == *shortener-standin/* ]]; then
  "${_bi_root}/scripts/standins/build.sh" >&2 || return 1 2>/dev/null || exit 1
fi
export PYTHON_IMAGE POSTGRES_IMAGE REDIS_IMAGE NGINX_IMAGE POSTGRES_UPGRADE_IMAGE
export PROMETHEUS_IMAGE ALERTMANAGER_IMAGE POSTGRES_EXPORTER_IMAGE REDIS_EXPORTER_IMAGE NGINX_EXPORTER_IMAGE
unset _bi_root _bi_env _bi_official _bi_monitoring _bi_all_set _bi_pair _bi_name _bi_image _bi_use_standins _bi_keep
unset -f _bi_have
