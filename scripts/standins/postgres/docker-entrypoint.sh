#!/usr/bin/env bash
# Entrypoint of shortener-standin/postgres:17 and :18, stand-ins for the official postgres
# images built from Debian packages. It honours the part of the official contract the project
# uses:
#   POSTGRES_PASSWORD / POSTGRES_PASSWORD_FILE (required unless POSTGRES_HOST_AUTH_METHOD=trust),
#   POSTGRES_USER (default postgres), POSTGRES_DB (default: the user), PGDATA,
#   POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD (default scram-sha-256),
#   /docker-entrypoint-initdb.d/*.sql, *.sql.gz, *.sh run once, on an empty data directory.
set -Eeuo pipefail

INITDB_DIR=/docker-entrypoint-initdb.d
SOCKET_DIR=/var/run/postgresql

log() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# file_env VAR [DEFAULT]: VAR comes from $VAR or from the file named by $VAR_FILE (how Docker
# secrets are passed), never both; like the official image, trailing newlines are dropped.
file_env() {
  local var="$1" default="${2:-}"
  local file_var="${var}_FILE"
  local value="$default"
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    die "both $var and $file_var are set (they are exclusive)"
  fi
  if [ -n "${!var:-}" ]; then
    value="${!var}"
  elif [ -n "${!file_var:-}" ]; then
    [ -r "${!file_var}" ] || die "$file_var=${!file_var}: file is not readable by uid $(id -u)"
    value="$(<"${!file_var}")"
  fi
  export "$var"="$value"
  unset "$file_var"
}

# Arguments that only print something (help, version, a config value) must not initialise
# a data directory, as in the official image.
wants_help() {
  local arg
  for arg in "$@"; do
    case "$arg" in
      -'?'|--help|--describe-config|-V|--version|-C|--config=*) return 0 ;;
    esac
  done
  return 1
}

# From 18 on, the official image keeps PGDATA in a major-version folder under one volume at
# /var/lib/postgresql (/var/lib/postgresql/18/docker; docker-library/postgres#1259). At that
# default it refuses to initialise a new, empty cluster when it sees data of another layout
# or major, or a volume mounted at the old path (/var/lib/postgresql/data): the sign of an
# image upgraded without its data. Prints what it found (nothing: go ahead).
data_of_another_layout() {
  local dir
  [ "$PGDATA" = "/var/lib/postgresql/${PG_MAJOR:-}/docker" ] || return 0
  for dir in /var/lib/postgresql /var/lib/postgresql/data /var/lib/postgresql/*/docker; do
    if [ -s "$dir/PG_VERSION" ]; then
      printf '  %s (PostgreSQL %s)\n' "$dir" "$(<"$dir/PG_VERSION")"
    fi
  done
  if awk '$5 == "/var/lib/postgresql/data" { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    printf '  %s\n' "/var/lib/postgresql/data (a mount this image does not use)"
  fi
}

# psql as the superuser on the socket of the temporary server; stops at the first error.
run_psql() {
  psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER" "$@"
}

init_database() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  local auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

  # Same rule as the official image: no superuser password, no database (unless the user
  # explicitly asked for "trust", i.e. no password at all over the network).
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
    die "Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value for
       the superuser. For example, \"-e POSTGRES_PASSWORD=password\" on \"docker run\"."
  fi

  # POSTGRES_INITDB_ARGS is a list of words (e.g. "--data-checksums -E UTF8").
  local -a initdb_args=()
  read -r -a initdb_args <<<"$POSTGRES_INITDB_ARGS"

  # Local (socket) connections are trusted, as the official image leaves them: the init scripts
  # and pg_isready use the socket. Every TCP connection needs the password.
  log "initdb: creating a new cluster in $PGDATA"
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host="$auth" "${initdb_args[@]}"
  printf '\n%s\n' "host all all all $auth" >>"$PGDATA/pg_hba.conf"

  # A temporary server on the unix socket only, so nothing can connect over the network
  # before initialisation is complete; the CMD's own arguments (-c ...) apply to it too.
  export PGUSER="$POSTGRES_USER" PGDATABASE="$POSTGRES_DB" PGHOST="$SOCKET_DIR" PGPORT=5432
  export PGPASSWORD="$POSTGRES_PASSWORD"
  pg_ctl -D "$PGDATA" -w start \
    -o "$(printf '%q ' "${postgres_args[@]}" -c listen_addresses= -c "unix_socket_directories=$SOCKET_DIR" -p 5432)"

  if [ "$POSTGRES_DB" != postgres ]; then
    local exists
    exists="$(run_psql --dbname postgres --tuples-only --no-align --set db="$POSTGRES_DB" \
      <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")"
    if [ -z "$exists" ]; then
      run_psql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
      log "created database $POSTGRES_DB"
    fi
  fi

  # Sorted (glob order), once. Executable *.sh files are run, others are sourced (so they can
  # use this script's functions and variables), exactly like the official image.
  local f
  shopt -s nullglob
  for f in "$INITDB_DIR"/*; do
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then
          log "$0: running $f"
          "$f"
        else
          log "$0: sourcing $f"
          # Sourced scripts written for the official entrypoint (which has no "set -u") may
          # read unset variables; relax nounset for them only.
          set +u
          # shellcheck disable=SC1090
          . "$f"
          set -u
        fi
        ;;
      *.sql) log "$0: running $f"; run_psql --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) log "$0: running $f"; gzip -dc "$f" | run_psql --dbname "$POSTGRES_DB" ;;
      *) log "$0: ignoring $f" ;;
    esac
  done
  shopt -u nullglob

  pg_ctl -D "$PGDATA" -m fast -w stop
  # The password must not stay in the environment of the long-running server.
  unset PGPASSWORD PGUSER PGDATABASE PGHOST PGPORT
  log ""
  log "PostgreSQL init process complete; ready for start up."
  log ""
}

# `docker run IMAGE -c foo=bar` means `postgres -c foo=bar`, as in the official image.
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- postgres "$@"
fi

if [ "$1" = postgres ] && ! wants_help "$@"; then
  PGDATA="${PGDATA:-/var/lib/postgresql/data}"
  export PGDATA
  postgres_args=("${@:2}")

  # Started as root (e.g. `user: root`): fix ownership of the data and socket directories,
  # then re-run this script as postgres; the server refuses to run as root anyway.
  if [ "$(id -u)" -eq 0 ]; then
    install -d -m 0700 "$PGDATA"
    chown -R postgres:postgres "$PGDATA"
    install -d -o postgres -g postgres -m 3777 "$SOCKET_DIR"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
  fi

  mkdir -p "$PGDATA"
  # initdb and postgres insist on 0700 (or 0750); only possible if we own the directory.
  chmod 0700 "$PGDATA" 2>/dev/null || true
  [ -w "$PGDATA" ] || die "$PGDATA is not writable by uid $(id -u) (owner: $(stat -c %u:%g "$PGDATA"))"

  if [ -s "$PGDATA/PG_VERSION" ]; then
    log ""
    log "PostgreSQL Database directory appears to contain a database; Skipping initialization"
    log ""
  else
    elsewhere="$(data_of_another_layout)"
    if [ -n "$elsewhere" ]; then
      die "PostgreSQL ${PG_MAJOR} keeps its data in $PGDATA, which is empty, and found instead:
$elsewhere
       An image upgraded without its data: upgrade the data (pg_upgrade, or a dump and
       restore), or mount one volume at /var/lib/postgresql, or set PGDATA to the folder
       that holds it. Nothing was initialised."
    fi
    init_database
  fi
fi

# The server (or any other command) replaces this shell: it is PID 1 and gets the signals.
exec "$@"
