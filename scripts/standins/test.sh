#!/usr/bin/env bash
# Checks that the stand-ins built by build.sh honour the parts of the official images'
# contracts the project relies on. Creates containers, volumes and a network named
# standin-test-*, and removes them (and its test image) on exit.
#
#   scripts/standins/test.sh            # all checks
#   scripts/standins/test.sh postgres   # only some: python postgres redis nginx prometheus
#                                       # alertmanager postgres-exporter redis-exporter nginx-exporter
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC1091
. "${HERE}/env"
P=standin-test
NET="${P}-net"
TMP="$(mktemp -d)"
chmod 0755 "$TMP"

cleanup() {
  # -v: also the anonymous volumes of images that declare a VOLUME (named ones go below).
  docker rm -f -v "${P}-pg" "${P}-redis" "${P}-nginx" "${P}-nginx-nonroot" \
    "${P}-prometheus" "${P}-alertmanager" "${P}-pg-monitored" "${P}-pg-exporter" \
    "${P}-pg-exporter-nodb" "${P}-redis-auth" "${P}-redis-exporter" "${P}-nginx-status" \
    "${P}-redis-exporter-plain" "${P}-nginx-exporter" "${P}-nginx-exporter-nonginx" >/dev/null 2>&1 || true
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
# The parts of an image's config that make its contract, on one line:
# ENTRYPOINT CMD user= workdir= ports= volumes=
image_contract() {
  docker image inspect -f '{{json .Config.Entrypoint}} {{json .Config.Cmd}} user={{.Config.User}} workdir={{.Config.WorkingDir}} ports={{json .Config.ExposedPorts}} volumes={{json .Config.Volumes}}' "$1"
}
expect_contract() { # NAME IMAGE EXPECTED
  local got
  got="$(image_contract "$2")"
  [ "$got" = "$3" ] || fail "$1: image config is
  $got
not
  $3"
}
# expect_version NAME IMAGE REGEX [ENTRYPOINT]: `--version` of the image's entrypoint (or of
# ENTRYPOINT) succeeds and prints REGEX.
expect_version() {
  local out entry=()
  [ -z "${4:-}" ] || entry=(--entrypoint "$4")
  out="$(docker run --rm "${entry[@]}" "$2" --version 2>&1)" || fail "$1: --version failed: $out"
  grep -q "$3" <<<"$out" || fail "$1: --version does not say $3: $out"
}
# The uid PID 1 of a running container runs as (the kernel's view, not the image's USER).
pid1_uid() { docker exec "$1" cat /proc/1/status | awk '/^Uid:/ { print $2 }'; }
# A page fetched with the container's own wget (the official image's healthcheck tool).
wget_in() { docker exec "$1" wget -q -O - "$2"; }
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

# metric_in CONTAINER URL LINE: the page, fetched with the container's wget, has LINE.
metric_in() {
  local out
  out="$(wget_in "$1" "$2")" || return 1
  grep -qxF "$3" <<<"$out"
}
# matches_in CONTAINER URL REGEX: the page, fetched with the container's wget, matches REGEX.
matches_in() {
  local out
  out="$(wget_in "$1" "$2")" || return 1
  grep -q "$3" <<<"$out"
}
# metric_at URL LINE: the same, fetched from another container (for images without wget).
metric_at() {
  local out
  out="$(http_get "$1")" || return 1
  grep -qxF "$2" <<<"$out"
}
# A random password like the stack's secrets (scripts/secret-values.sh): URL-safe base64.
url_safe_secret() { head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n='; }

test_prometheus() {
  local image="$PROMETHEUS_IMAGE" c="${P}-prometheus" cfg="${TMP}/prometheus.yml" out
  docker network create "$NET" >/dev/null 2>&1 || true
  expect_contract prometheus "$image" '["/bin/prometheus"] ["--config.file=/etc/prometheus/prometheus.yml","--storage.tsdb.path=/prometheus","--web.console.libraries=/usr/share/prometheus/console_libraries","--web.console.templates=/usr/share/prometheus/consoles"] user=nobody workdir=/prometheus ports={"9090/tcp":{}} volumes={"/prometheus":{}}'
  expect_version prometheus "$image" '^prometheus, version 2\.53\.3'
  expect_version prometheus "$image" '^promtool, version 2\.53\.3' /bin/promtool
  pass "prometheus: official ENTRYPOINT, CMD, USER nobody, WORKDIR/VOLUME /prometheus; prometheus, promtool 2.53.3"

  cat >"$cfg" <<'EOF'
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: self
    static_configs:
      - targets: ["127.0.0.1:9090"]
EOF
  printf 'scrape_configs:\n  - job_name: self\n    scrape_interval: often\n' >"${TMP}/prometheus-broken.yml"
  chmod 0644 "$cfg" "${TMP}/prometheus-broken.yml"
  docker run --rm --entrypoint /bin/promtool -v "${cfg}:/etc/prometheus/prometheus.yml:ro" "$image" \
    check config /etc/prometheus/prometheus.yml >/dev/null || fail "prometheus: promtool check config refuses a valid config"
  docker run --rm --entrypoint /bin/promtool -v "${TMP}/prometheus-broken.yml:/etc/prometheus/prometheus.yml:ro" "$image" \
    check config /etc/prometheus/prometheus.yml >/dev/null 2>&1 && fail "prometheus: promtool check config accepts a broken config"
  pass "prometheus: promtool check config passes a valid config and fails a broken one"

  # The image's own CMD with a config mounted over the built-in one, as compose does.
  docker run -d --name "$c" --network "$NET" -v "${cfg}:/etc/prometheus/prometheus.yml:ro" "$image" >/dev/null
  # The compose healthcheck's command.
  wait_for 30 docker exec "$c" wget -q -O /dev/null http://127.0.0.1:9090/-/ready \
    || { docker logs "$c" 2>&1 | tail -20; fail "prometheus: /-/ready not answering after 30 s"; }
  [ "$(pid1_uid "$c")" = 65534 ] || fail "prometheus: PID 1 does not run as nobody (65534)"
  docker exec "$c" test -d /prometheus/wal || fail "prometheus: no TSDB (wal) in /prometheus"
  pass "prometheus: /-/ready answers wget inside (the healthcheck), runs as 65534, TSDB in /prometheus"

  wait_for 20 matches_in "$c" 'http://127.0.0.1:9090/api/v1/query?query=up%7Bjob%3D%22self%22%7D' \
    '"value":\[[0-9.]*,"1"\]' || fail "prometheus: the API does not show its self-scrape as up"
  out="$(http_get "http://${c}:9090/api/v1/status/buildinfo")" || fail "prometheus: /api/v1/status/buildinfo"
  grep -q '"version":"2\.53\.3' <<<"$out" || fail "prometheus: buildinfo: $out"
  # Debian has no React UI: /graph is its page saying so, the classic UI is at /classic/graph.
  http_get "http://${c}:9090/graph" >/dev/null || fail "prometheus: /graph does not answer"
  out="$(http_get "http://${c}:9090/classic/graph")" || fail "prometheus: /classic/graph does not answer"
  grep -q '<title>Prometheus' <<<"$out" || fail "prometheus: /classic/graph is not the classic UI"
  pass "prometheus: API (query: up 1 for its self-scrape, buildinfo) from another container; /graph, /classic/graph"
}

test_alertmanager() {
  local image="$ALERTMANAGER_IMAGE" c="${P}-alertmanager" out
  local amtool=(docker exec "$c" amtool --alertmanager.url=http://127.0.0.1:9093)
  docker network create "$NET" >/dev/null 2>&1 || true
  expect_contract alertmanager "$image" '["/bin/alertmanager"] ["--config.file=/etc/alertmanager/alertmanager.yml","--storage.path=/alertmanager"] user=nobody workdir=/alertmanager ports={"9093/tcp":{}} volumes={"/alertmanager":{}}'
  expect_version alertmanager "$image" '^alertmanager, version 0\.28\.1'
  docker run --rm --entrypoint /bin/amtool "$image" check-config /etc/alertmanager/alertmanager.yml >/dev/null \
    || fail "alertmanager: amtool check-config refuses the built-in config"
  pass "alertmanager: official ENTRYPOINT, CMD, USER nobody, WORKDIR/VOLUME /alertmanager; amtool check-config"

  docker run -d --name "$c" --network "$NET" "$image" >/dev/null
  wait_for 30 docker exec "$c" wget -q -O /dev/null http://127.0.0.1:9093/-/ready \
    || { docker logs "$c" 2>&1 | tail -20; fail "alertmanager: /-/ready not answering after 30 s"; }
  [ "$(pid1_uid "$c")" = 65534 ] || fail "alertmanager: PID 1 does not run as nobody (65534)"
  "${amtool[@]}" alert add standin_test severity=warning >/dev/null || fail "alertmanager: amtool alert add"
  out="$("${amtool[@]}" alert query standin_test)" || fail "alertmanager: amtool alert query"
  grep -q standin_test <<<"$out" || fail "alertmanager: the alert added is not listed: $out"
  http_get "http://${c}:9093/api/v2/status" >/dev/null || fail "alertmanager: /api/v2/status from another container"
  pass "alertmanager: /-/ready answers wget inside, runs as 65534, API v2 takes and lists an alert (amtool)"
}

test_postgres_exporter() {
  local image="$POSTGRES_EXPORTER_IMAGE" c="${P}-pg-exporter" db="${P}-pg-monitored" out
  docker network create "$NET" >/dev/null 2>&1 || true
  expect_contract postgres-exporter "$image" '["/bin/postgres_exporter"] null user=nobody workdir= ports={"9187/tcp":{}} volumes=null'
  expect_version postgres-exporter "$image" '^postgres_exporter, version 0\.17\.1'
  pass "postgres-exporter: official ENTRYPOINT (no CMD), USER nobody, EXPOSE 9187; version 0.17.1"

  docker run -d --name "${c}-nodb" --network "$NET" -e DATA_SOURCE_URI="${P}-nowhere:5432/postgres?sslmode=disable" \
    -e DATA_SOURCE_USER=nobody -e DATA_SOURCE_PASS=none "$image" >/dev/null
  wait_for 20 metric_in "${c}-nodb" http://127.0.0.1:9187/metrics 'pg_up 0' \
    || { docker logs "${c}-nodb" 2>&1 | tail -10; fail "postgres-exporter: no pg_up 0 without a database"; }
  [ "$(pid1_uid "${c}-nodb")" = 65534 ] || fail "postgres-exporter: PID 1 does not run as nobody (65534)"
  pass "postgres-exporter: serves /metrics (wget inside) with pg_up 0 when no database answers; runs as 65534"

  # Name and password from files, as compose secrets; a URL-safe password like the stack's
  # (upstream's DSN parsing breaks on a space in it: pg_up 0).
  printf 'monitor\n' >"${TMP}/pg-monitor-user"
  url_safe_secret >"${TMP}/pg-monitor-password"
  chmod 0644 "${TMP}/pg-monitor-user" "${TMP}/pg-monitor-password"
  docker run -d --name "$db" --network "$NET" -v "${TMP}/pg-monitor-password:/run/secrets/pgpass:ro" \
    -e POSTGRES_USER=monitor -e POSTGRES_DB=shortener -e POSTGRES_PASSWORD_FILE=/run/secrets/pgpass \
    "$POSTGRES_IMAGE" >/dev/null
  wait_for 60 docker exec "$db" pg_isready -h 127.0.0.1 -U monitor -d shortener \
    || { docker logs "$db" 2>&1 | tail -20; fail "postgres-exporter: its database is not ready after 60 s"; }
  docker run -d --name "$c" --network "$NET" \
    -v "${TMP}/pg-monitor-user:/run/secrets/db_user:ro" -v "${TMP}/pg-monitor-password:/run/secrets/db_password:ro" \
    -e DATA_SOURCE_URI="${db}:5432/shortener?sslmode=disable" \
    -e DATA_SOURCE_USER_FILE=/run/secrets/db_user -e DATA_SOURCE_PASS_FILE=/run/secrets/db_password \
    "$image" >/dev/null
  wait_for 20 metric_in "$c" http://127.0.0.1:9187/metrics 'pg_up 1' \
    || { docker logs "$c" 2>&1 | tail -10; fail "postgres-exporter: no pg_up 1 with DATA_SOURCE_*_FILE"; }
  matches_in "$c" http://127.0.0.1:9187/metrics '^pg_database_size_bytes{datname="shortener"}' \
    || fail "postgres-exporter: no pg_database_size_bytes for the database"
  pass "postgres-exporter: pg_up 1 from DATA_SOURCE_URI + DATA_SOURCE_USER_FILE + DATA_SOURCE_PASS_FILE"
}

test_redis_exporter() {
  local image="$REDIS_EXPORTER_IMAGE" c="${P}-redis-exporter" redis="${P}-redis-auth" pw out
  docker network create "$NET" >/dev/null 2>&1 || true
  expect_contract redis-exporter "$image" '["/redis_exporter"] null user=59000:59000 workdir= ports={"9121/tcp":{}} volumes=null'
  expect_version redis-exporter "$image" 'Redis Metrics Exporter 1\.69\.0'
  pass "redis-exporter: official ENTRYPOINT (no CMD), USER 59000:59000, EXPOSE 9121; version 1.69.0"

  # Like the stack's cache: the default user from an ACL file holding the password's SHA-256.
  pw="$(url_safe_secret)"
  printf 'user default on #%s ~* &* +@all\n' "$(printf '%s' "$pw" | sha256sum | cut -d' ' -f1)" >"${TMP}/redis-users.acl"
  printf '%s\n' "$pw" >"${TMP}/redis-password"
  printf '{"redis://%s:6379": "%s"}\n' "$redis" "$pw" >"${TMP}/redis-passwords.json"
  chmod 0644 "${TMP}/redis-users.acl" "${TMP}/redis-password" "${TMP}/redis-passwords.json"
  docker run -d --name "$redis" --network "$NET" -v "${TMP}/redis-users.acl:/run/secrets/redis_users_acl:ro" \
    "$REDIS_IMAGE" redis-server --aclfile /run/secrets/redis_users_acl >/dev/null
  wait_for 20 sh -c "docker exec -e REDISCLI_AUTH='$pw' '$redis' redis-cli ping | grep -q PONG" \
    || fail "redis-exporter: its redis does not answer"

  # 1.69's password file is a JSON map of address to password; a plain one stops it at start.
  out="$(timeout 30 docker run --rm --name "${c}-plain" --network "$NET" \
    -v "${TMP}/redis-password:/run/secrets/redis_password:ro" "$image" \
    --redis.addr="redis://${redis}:6379" --redis.password-file=/run/secrets/redis_password 2>&1)" \
    && fail "redis-exporter: started with a plain password file"
  grep -q 'password file format error' <<<"$out" || fail "redis-exporter: unclear plain-file error: $out"
  pass "redis-exporter: a plain password file is refused at start (it wants a JSON map)"

  docker run -d --name "$c" --network "$NET" -v "${TMP}/redis-passwords.json:/run/secrets/redis_passwords.json:ro" \
    -e REDIS_ADDR="redis://${redis}:6379" -e REDIS_PASSWORD_FILE=/run/secrets/redis_passwords.json \
    "$image" >/dev/null
  wait_for 20 metric_in "$c" http://127.0.0.1:9121/metrics 'redis_up 1' \
    || { docker logs "$c" 2>&1 | tail -10; fail "redis-exporter: no redis_up 1 with REDIS_PASSWORD_FILE"; }
  [ "$(pid1_uid "$c")" = 59000 ] || fail "redis-exporter: PID 1 does not run as 59000"
  pass "redis-exporter: redis_up 1 with REDIS_PASSWORD_FILE (JSON map), wget inside, runs as 59000"
}

test_nginx_exporter() {
  local image="$NGINX_EXPORTER_IMAGE" c="${P}-nginx-exporter" nginx="${P}-nginx-status" out
  docker network create "$NET" >/dev/null 2>&1 || true
  expect_contract nginx-exporter "$image" '["/usr/bin/nginx-prometheus-exporter"] null user=1001:1001 workdir= ports=null volumes=null'
  expect_version nginx-exporter "$image" 'version 1\.4\.1'
  pass "nginx-exporter: official ENTRYPOINT (no CMD), USER 1001:1001; version 1.4.1"

  printf 'server {\n    listen 8081;\n    location = /stub_status { stub_status; }\n}\n' >"${TMP}/stub-status.conf"
  chmod 0644 "${TMP}/stub-status.conf"
  docker run -d --name "$nginx" --network "$NET" -v "${TMP}/stub-status.conf:/etc/nginx/conf.d/stub-status.conf:ro" \
    "$NGINX_IMAGE" >/dev/null
  wait_for 20 http_get "http://${nginx}:8081/stub_status" || fail "nginx-exporter: no stub_status from nginx"
  docker run -d --name "$c" --network "$NET" "$image" \
    --nginx.scrape-uri="http://${nginx}:8081/stub_status" >/dev/null
  docker run -d --name "${c}-nonginx" --network "$NET" "$image" \
    --nginx.scrape-uri="http://${P}-nowhere:8081/stub_status" >/dev/null
  wait_for 20 metric_at "http://${c}:9113/metrics" 'nginx_up 1' \
    || { docker logs "$c" 2>&1 | tail -10; fail "nginx-exporter: no nginx_up 1 from the stub_status"; }
  wait_for 20 metric_at "http://${c}-nonginx:9113/metrics" 'nginx_up 0' \
    || { docker logs "${c}-nonginx" 2>&1 | tail -10; fail "nginx-exporter: no nginx_up 0 when nothing answers"; }
  [ "$(pid1_uid "$c")" = 1001 ] || fail "nginx-exporter: PID 1 does not run as 1001"
  pass "nginx-exporter: --nginx.scrape-uri: nginx_up 1 from stub_status, 0 when nothing answers; runs as 1001"
}

wanted=("$@")
[ "${#wanted[@]}" -gt 0 ] || wanted=(python postgres redis nginx
  prometheus alertmanager postgres-exporter redis-exporter nginx-exporter)
for t in "${wanted[@]}"; do
  case "$t" in
    python|postgres|redis|nginx|prometheus|alertmanager) "test_$t" ;;
    postgres-exporter|redis-exporter|nginx-exporter) "test_${t//-/_}" ;;
    *) fail "unknown test '$t'" ;;
  esac
done
printf 'all stand-in checks passed\n'
