#!/usr/bin/env bash
# Checks that the stand-ins built by build.sh honour the parts of the official images'
# contracts the project relies on. Creates containers, volumes and a network named
# standin-test-*, and removes them (and its test image) on exit.
#
#   scripts/standins/test.sh            # all checks
#   scripts/standins/test.sh postgres   # only some: python postgres redis nginx
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC1091
. "${HERE}/env"
P=standin-test
NET="${P}-net"
TMP="$(mktemp -d)"
chmod 0755 "$TMP"

cleanup() {
  docker rm -f "${P}-pg" "${P}-redis" "${P}-nginx" "${P}-nginx-nonroot" >/dev/null 2>&1 || true
  docker volume rm "${P}-pgdata" "${P}-redisdata" >/dev/null 2>&1 || true
  docker network rm "$NET" >/dev/null 2>&1 || true
  docker image rm "${P}/pyvenv" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

pass() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*" >&2; exit 1; }
# wait_for SECONDS COMMAND...: retry COMMAND every half second.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}
# An HTTP GET from a throw-away container on the test network.
http_get() {
  docker run --rm --network "$NET" "$PYTHON_IMAGE" python -c \
    'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip())' "$1"
}

test_python() {
  mkdir -p "${TMP}/py"
  cat >"${TMP}/py/Dockerfile" <<EOF
FROM ${PYTHON_IMAGE}
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check six
CMD ["/opt/venv/bin/python", "-c", "import six, sys; print(six.__name__, sys.version_info[:2])"]
EOF
  DOCKER_BUILDKIT=1 docker build -q -t "${P}/pyvenv" "${TMP}/py" >/dev/null \
    || fail "python: a venv + pip install from PyPI does not build"
  [ "$(docker run --rm "${P}/pyvenv")" = "six (3, 13)" ] || fail "python: venv does not run"
  pass "python: venv + pip install six from PyPI, runs python 3.13"
}

test_postgres() {
  local pw='s3cret pass' out
  docker network create "$NET" >/dev/null 2>&1 || true
  mkdir -p "${TMP}/initdb"
  printf '%s\n' "$pw" >"${TMP}/pgpass"
  cat >"${TMP}/initdb/01-schema.sql" <<'EOF'
CREATE TABLE seen (who text NOT NULL);
INSERT INTO seen VALUES ('sql:' || current_user || '@' || current_database());
EOF
  cat >"${TMP}/initdb/02-exec.sh" <<'EOF'
#!/bin/bash
set -e
psql -v ON_ERROR_STOP=1 -c "INSERT INTO seen VALUES ('exec:$PGUSER@$PGDATABASE')"
EOF
  chmod 0755 "${TMP}/initdb/02-exec.sh"
  # Not executable: sourced; uses a function of the entrypoint, as official-image scripts may.
  cat >"${TMP}/initdb/03-sourced.sh" <<'EOF'
run_psql --dbname "$POSTGRES_DB" -c "INSERT INTO seen VALUES ('sourced:$UNSET_IN_SOURCED_SCRIPT')"
EOF
  chmod 0644 "${TMP}/initdb/03-sourced.sh" "${TMP}/initdb/01-schema.sql" "${TMP}/pgpass"

  out="$(docker run --rm "$POSTGRES_IMAGE" 2>&1)" && fail "postgres: started without a password"
  grep -q 'superuser password is not specified' <<<"$out" || fail "postgres: unclear no-password error: $out"
  pass "postgres: refuses to initialise without a password"

  local run=(docker run -d --name "${P}-pg" --network "$NET"
    -v "${P}-pgdata:/var/lib/postgresql/data"
    -v "${TMP}/pgpass:/run/secrets/pgpass:ro"
    -v "${TMP}/initdb:/docker-entrypoint-initdb.d:ro"
    -e POSTGRES_USER=app -e POSTGRES_DB=shortener -e POSTGRES_PASSWORD_FILE=/run/secrets/pgpass
    "$POSTGRES_IMAGE")
  "${run[@]}" >/dev/null
  # TCP answers only once init is over (the temporary server listens on the socket only).
  wait_for 60 docker exec "${P}-pg" pg_isready -h 127.0.0.1 -U app -d shortener \
    || { docker logs "${P}-pg" 2>&1 | tail -30; fail "postgres: not ready over TCP after 60 s"; }
  docker exec "${P}-pg" pg_isready -U app -d shortener >/dev/null || fail "postgres: pg_isready on the socket"
  pass "postgres: initialised from POSTGRES_PASSWORD_FILE, pg_isready works"

  [ "$(docker exec "${P}-pg" cat /proc/1/comm)" = postgres ] || fail "postgres: PID 1 is not postgres"
  [ "$(docker exec "${P}-pg" id -un)" = postgres ] || fail "postgres: not running as user postgres"
  [ "$(docker exec "${P}-pg" stat -c '%U %a' /var/lib/postgresql/data)" = "postgres 700" ] \
    || fail "postgres: PGDATA is not postgres-owned 0700"
  pass "postgres: PID 1 is postgres, user postgres, PGDATA 0700"

  out="$(docker run --rm --network "$NET" -e PGPASSWORD="$pw" "$POSTGRES_IMAGE" \
    psql -h "${P}-pg" -U app -d shortener -Atc 'SELECT string_agg(who, $$,$$ ORDER BY who) FROM seen')"
  [ "$out" = "exec:app@shortener,sourced:,sql:app@shortener" ] || fail "postgres: init scripts: got '$out'"
  pass "postgres: initdb.d .sql, executable .sh and sourced .sh ran in order, as app on shortener"
  pass "postgres: scram-sha-256 password login over TCP from another container"
  docker run --rm --network "$NET" -e PGPASSWORD=wrong "$POSTGRES_IMAGE" \
    psql -h "${P}-pg" -U app -d shortener -c 'SELECT 1' >/dev/null 2>&1 \
    && fail "postgres: a wrong password was accepted over TCP"
  pass "postgres: wrong password refused over TCP"

  docker stop -t 20 "${P}-pg" >/dev/null
  # Exit code 0 means postgres shut down by itself (SIGKILL after the timeout gives 137).
  [ "$(docker inspect -f '{{.State.ExitCode}}' "${P}-pg")" = 0 ] \
    || fail "postgres: docker stop ended in SIGKILL, not a clean shutdown"
  # The log copier may lag the container's exit by a moment: poll instead of reading once.
  wait_for 10 sh -c "docker logs '${P}-pg' 2>&1 | grep -q 'received fast shutdown request'" \
    || fail "postgres: docker stop did not reach postgres as SIGINT"
  pass "postgres: docker stop = SIGINT = fast shutdown"
  docker rm "${P}-pg" >/dev/null
  "${run[@]}" >/dev/null
  wait_for 30 docker exec "${P}-pg" pg_isready -h 127.0.0.1 -U app -d shortener || fail "postgres: restart not ready"
  wait_for 10 sh -c "docker logs '${P}-pg' 2>&1 | grep -q 'Skipping initialization'" \
    || fail "postgres: restart did not skip init"
  out="$(docker exec "${P}-pg" psql -U app -d shortener -Atc 'SELECT count(*) FROM seen')"
  [ "$out" = 3 ] || fail "postgres: init scripts ran again on restart ($out rows)"
  pass "postgres: restart over the same volume skips initialisation"
}

test_redis() {
  docker network create "$NET" >/dev/null 2>&1 || true
  docker run -d --name "${P}-redis" --network "$NET" -v "${P}-redisdata:/data" \
    "$REDIS_IMAGE" redis-server --appendonly yes >/dev/null
  wait_for 20 docker exec "${P}-redis" redis-cli ping || fail "redis: no PONG"
  [ "$(docker run --rm --network "$NET" "$REDIS_IMAGE" redis-cli -h "${P}-redis" set k v)" = OK ] \
    || fail "redis: refused a client from another container (protected mode?)"
  [ "$(docker exec "${P}-redis" cat /proc/1/comm)" = redis-server ] || fail "redis: PID 1 is not redis-server"
  [ "$(docker exec "${P}-redis" id -un)" = redis ] || fail "redis: not running as redis"
  docker exec "${P}-redis" sh -c 'ls /data/appendonlydir/*.aof' >/dev/null || fail "redis: no AOF in /data"
  pass "redis: serves other containers, runs as redis (PID 1), appendonly writes to /data"
}

test_nginx() {
  docker network create "$NET" >/dev/null 2>&1 || true
  mkdir -p "${TMP}/templates"
  # shellcheck disable=SC2016  # ${GREETING} is for envsubst, $host for nginx
  printf 'server { listen 81; location / { return 200 "${GREETING} $host\\n"; } }\n' \
    >"${TMP}/templates/greet.conf.template"
  chmod -R a+rX "${TMP}/templates"
  docker run -d --name "${P}-nginx" --network "$NET" -e GREETING=hello \
    -v "${TMP}/templates:/etc/nginx/templates:ro" "$NGINX_IMAGE" >/dev/null
  wait_for 20 http_get "http://${P}-nginx/" || { docker logs "${P}-nginx"; fail "nginx: default page"; }
  [ "$(http_get "http://${P}-nginx:81/")" = "hello ${P}-nginx" ] || fail "nginx: templates not substituted"
  wait_for 10 sh -c "docker logs '${P}-nginx' 2>/dev/null | grep -q 'GET / HTTP'" \
    || fail "nginx: access log not on stdout"
  pass "nginx: default site on :80, templates, access log on stdout"

  # What the project's nginx/Dockerfile does: unprivileged, pid and temp files in /tmp, :8080.
  cat >"${TMP}/nonroot.conf" <<'EOF'
worker_processes auto;
pid /tmp/nginx.pid;
error_log /var/log/nginx/error.log notice;
events { worker_connections 1024; }
http {
    client_body_temp_path /tmp/client_temp;
    proxy_temp_path       /tmp/proxy_temp;
    fastcgi_temp_path     /tmp/fastcgi_temp;
    uwsgi_temp_path       /tmp/uwsgi_temp;
    scgi_temp_path        /tmp/scgi_temp;
    access_log /var/log/nginx/access.log;
    server { listen 8080; location / { return 200 "unprivileged\n"; } }
}
EOF
  chmod 0644 "${TMP}/nonroot.conf"
  docker run -d --name "${P}-nginx-nonroot" --network "$NET" --user nginx \
    -v "${TMP}/nonroot.conf:/etc/nginx/nginx.conf:ro" "$NGINX_IMAGE" >/dev/null
  wait_for 20 http_get "http://${P}-nginx-nonroot:8080/" \
    || { docker logs "${P}-nginx-nonroot"; fail "nginx: non-root on :8080"; }
  [ "$(docker exec "${P}-nginx-nonroot" sh -c 'id -un; cat /proc/1/comm' | paste -sd' ')" = "nginx nginx" ] \
    || fail "nginx: not running as user nginx"
  docker stop -t 10 "${P}-nginx-nonroot" >/dev/null
  wait_for 10 sh -c "docker logs '${P}-nginx-nonroot' 2>&1 | grep -q 'gracefully shutting down'" \
    || fail "nginx: stop was not graceful (SIGQUIT)"
  pass "nginx: runs as user nginx on :8080 with pid/temp in /tmp; docker stop is graceful"
}

wanted=("$@")
[ "${#wanted[@]}" -gt 0 ] || wanted=(python postgres redis nginx)
for t in "${wanted[@]}"; do
  case "$t" in
    python|postgres|redis|nginx) "test_$t" ;;
    *) fail "unknown test '$t'" ;;
  esac
done
printf 'all stand-in checks passed\n'
