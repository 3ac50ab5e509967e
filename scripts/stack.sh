#!/usr/bin/env bash
# `make stack-up` / `make stack-down`: the production files on Docker Swarm.
#
#   scripts/stack.sh up     deploy (or update) the stack, wait until it converged, start the edge
#   scripts/stack.sh down   remove the edge and the stack; --volumes also deletes its data
#
# Environment: STACK_NAME (default shortener), SECRETS_DIR (required, as for make prod-up),
# API_IMAGE, WORKER_IMAGE, PROXY_IMAGE, DATABASE_IMAGE and the base image variables, as for
# compose; TLS_MODE (off, acme, files) and its settings, as for make prod-up: the edge serves
# HTTPS (docs/tls.md), the keeper (acme) running beside it.
# The engine must be in a swarm (docker swarm init); on a single node the images need
# no registry (--resolve-image never). Guide: docs/swarm.md.
set -euo pipefail
cd "$(dirname "$0")/.."

stack="${STACK_NAME:-shortener}"
export STACK_NAME="$stack"
files=(-f docker-compose.yml -f docker-compose.prod.yml -f docker-compose.swarm.yml)
# MONITORING=1: the exporters in the stack, Prometheus and Alertmanager at the edge
# (docs/monitoring.md, "On Swarm").
monitoring=() edge_monitoring=() monitoring_services=()
if [ -n "${MONITORING:-}" ]; then
  monitoring=(-f docker-compose.monitoring.yml -f docker-compose.monitoring-swarm.yml)
  edge_monitoring=(-f docker-compose.monitoring-edge.yml)
  monitoring_services=(prometheus alertmanager)
fi
files+=("${monitoring[@]}")
# The edge is a compose project (docker-compose.edge.yml); TLS, when asked for, is its
# business alone: the stack behind it is the same.
case "${TLS_MODE:-off}" in
  off) tls=() edge_services=(proxy) scheme=http port=8080 ;;
  acme) tls=(-f docker-compose.tls.yml --profile acme) edge_services=(proxy certs) scheme=https port=8443 ;;
  files) tls=(-f docker-compose.tls.yml -f docker-compose.tls-files.yml) edge_services=(proxy) scheme=https port=8443 ;;
  *) echo "error: TLS_MODE=${TLS_MODE}: must be acme, files or off (docs/tls.md)" >&2; exit 2 ;;
esac
edge=(docker compose -p "${stack}-edge" "${files[@]}" -f docker-compose.edge.yml "${edge_monitoring[@]}" "${tls[@]}")
edge_services+=("${monitoring_services[@]}")

require_swarm() {
  if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
    echo "error: this engine is not in a swarm. For one node: docker swarm init --advertise-addr 127.0.0.1" >&2
    exit 1
  fi
}

# Named volumes live on one node: the data stores are placed on the node labelled
# shortener.data=true (docker-compose.swarm.yml). A single-node swarm labels itself.
label_data_node() {
  if [ -z "$(docker node ls --quiet --filter node.label=shortener.data=true)" ]; then
    if [ "$(docker node ls --quiet | wc -l)" -ne 1 ]; then
      echo "error: label the node that keeps the data: docker node update --label-add shortener.data=true NODE" >&2
      exit 1
    fi
    docker node update --label-add shortener.data=true "$(docker info --format "{{.Swarm.NodeID}}")" >/dev/null
    echo "labelled this node shortener.data=true (the database and cache volumes live here)"
  fi
}

# Compose merges and resolves the files; scripts/stack_file.py adapts the result to the
# stack loader of the docker CLI.
render() {
  local log
  log="$(mktemp)"
  if ! docker compose "${files[@]}" config --format json 2>"$log" | python3 scripts/stack_file.py; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

# Converged: every replicated service runs all its replicas, every job completed.
wait_converged() {
  local deadline=$((SECONDS + ${STACK_TIMEOUT:-300})) pending
  while :; do
    pending="$(docker service ls --filter "label=com.docker.stack.namespace=${stack}" \
      --format '{{.Name}}|{{.Mode}}|{{.Replicas}}' | awk -F'|' '
        $2 == "replicated" { split($3, n, "/"); if (n[1] != n[2]) print $1 " " $3 }
        $2 == "replicated job" && $3 !~ /\(1\/1 completed\)/ { print $1 " " $3 }')"
    # A rolling update in progress, or one that failed and was rolled back or paused.
    local name state
    for name in $(docker service ls --quiet --filter "label=com.docker.stack.namespace=${stack}"); do
      state="$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$name")"
      case "$state" in
        updating | rollback_started) pending+=$'\n'"$(docker service inspect --format '{{.Spec.Name}}' "$name") ${state}" ;;
        paused | rollback_paused | rollback_completed)
          echo "error: the update of $(docker service inspect --format '{{.Spec.Name}}' "$name") failed (${state}):" >&2
          docker service inspect --format '  {{.UpdateStatus.Message}}' "$name" >&2
          return 1
          ;;
      esac
    done
    pending="$(printf '%s' "$pending" | sed '/^$/d')"
    [ -z "$pending" ] && return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "error: the stack did not converge; still waiting for:" >&2
      printf '  %s\n' "$pending" >&2
      echo "Its tasks (docker service logs ${stack}_SERVICE says more):" >&2
      docker stack ps --no-trunc --format '  {{.Name}} {{.CurrentState}} {{.Error}}' "$stack" \
        | head -n 30 >&2
      return 1
    fi
    sleep 2
  done
}

up() {
  require_swarm
  # The receiver of the alerts and the monitoring images (scripts/monitoring-setup.sh).
  [ -z "${MONITORING:-}" ] || scripts/monitoring-setup.sh
  # shellcheck source=scripts/base-images.sh
  . scripts/base-images.sh
  # Swarm runs what the node has: build here (a registry for many nodes: docs/swarm.md).
  docker compose -f docker-compose.yml build --quiet
  label_data_node
  local stack_file
  stack_file="$(mktemp)"
  trap 'rm -f "$stack_file"' RETURN
  render >"$stack_file"
  # Locally built images: no registry is asked for digests (docs/swarm.md, "Registries").
  docker stack deploy --resolve-image never --prune --detach=true -c "$stack_file" "$stack"
  wait_converged
  "${edge[@]}" up --detach --no-deps --wait --wait-timeout 120 "${edge_services[@]}"
  echo
  if [ -n "${MONITORING:-}" ]; then
    echo "Monitoring: Prometheus http://$("${edge[@]}" port prometheus 9090 | tail -n1)" \
      "  Alertmanager http://$("${edge[@]}" port alertmanager 9093 | tail -n1)"
  fi
  # Last: the line a script reads the address from.
  echo "The stack ${stack} is up: ${scheme}://$("${edge[@]}" port proxy "$port" | tail -n1)"
}

# Until no running container of the stack is left but those of the named services.
wait_until_gone() {
  local deadline=$((SECONDS + $1)) format="$2"
  shift 2
  while docker ps --filter "label=com.docker.stack.namespace=${stack}" --format "$format" \
    | grep -vxF -f <(printf '%s\n' "$@") >/dev/null; do
    [ "$SECONDS" -ge "$deadline" ] && return 0
    sleep 1
  done
}

down() {
  "${edge[@]}" down --remove-orphans --timeout 10 || true
  # Swarm stops every service at once; the worker then finds Redis gone in the middle of
  # its warm shutdown and waits out its grace period. Stop the services that use the data
  # stores first, as compose does by depends_on, then the rest.
  local data_stores=" ${stack}_database ${stack}_cache " service
  for service in $(docker service ls --format '{{.Name}}' --filter "label=com.docker.stack.namespace=${stack}"); do
    [[ "$data_stores" == *" ${service} "* ]] || docker service rm "$service" >/dev/null
  done
  wait_until_gone 60 '{{.Label "com.docker.swarm.service.name"}}' "${stack}_database" "${stack}_cache"
  docker stack rm "$stack" >/dev/null 2>&1 || true
  # The stack's networks go only after its tasks did; volumes need their containers gone.
  local deadline=$((SECONDS + 90))
  while [ -n "$(docker network ls --quiet --filter "label=com.docker.stack.namespace=${stack}")" ] \
    || [ -n "$(docker ps --quiet --filter "label=com.docker.stack.namespace=${stack}")" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "error: stack ${stack} still has tasks or networks after 90 s" >&2
      return 1
    fi
    sleep 1
  done
  # Swarm keeps the stopped containers of finished tasks (the migration job's) for history.
  docker ps --all --quiet --filter "label=com.docker.stack.namespace=${stack}" \
    | xargs --no-run-if-empty docker rm --force >/dev/null
  if [ "${1:-}" = --volumes ]; then
    docker volume ls --quiet --filter "label=com.docker.stack.namespace=${stack}" \
      | xargs --no-run-if-empty docker volume rm >/dev/null
    # The edge's own (TLS: the certificates), whatever TLS_MODE says now.
    docker volume ls --quiet --filter "label=com.docker.compose.project=${stack}-edge" \
      | xargs --no-run-if-empty docker volume rm >/dev/null
  fi
}

case "${1:-}" in
  up) up ;;
  down) shift; down "$@" ;;
  render) render ;;
  *) echo "usage: scripts/stack.sh up | down [--volumes] | render" >&2; exit 2 ;;
esac
