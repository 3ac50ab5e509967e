#!/usr/bin/env bash
# The database's entrypoint: starts the backup schedule beside the server, then hands over
# to the official entrypoint (docker-entrypoint.sh), which becomes postgres, PID 1.
#
#   BACKUP_INTERVAL_HOURS   a base backup this often (default 24; 0: none on a schedule)
#   BACKUP_FULL_EVERY       every n-th scheduled backup is full, the others differential
#                           (default 7: a full one a week at the default interval)
#
# Why in this container: pgBackRest reads the data folder and talks to the server on its
# local socket; a second container would need both shared. The schedule is a loop, not
# cron: one process, its state in the repository (last-backup), no daemon to run as root.
set -euo pipefail

STANZA=shortener
REPOSITORY=/var/lib/pgbackrest
STATE="$REPOSITORY/last-backup"  # "<unix time> <count>" of the last scheduled backup

say() { printf '{"time":"%s","level":"%s","logger":"backups","message":"%s"}\n' \
  "$(date -u +%FT%TZ)" "$1" "$2"; }

# The Postgres exporter's role (docker-compose.monitoring.yml sets DATABASE_MONITOR_USER and
# its password file): created or brought in line with the secret, as the superuser on the
# local socket; the password reaches psql on its standard input.
ensure_monitoring_role() {
  { printf "\\set password '%s'\n" "$(tr -d '\n' <"$DATABASE_MONITOR_PASSWORD_FILE")"
    cat /usr/local/share/shortener/monitoring-role.sql
  } | psql --quiet --no-psqlrc --username=postgres --dbname="${POSTGRES_DB:-postgres}" \
    -v ON_ERROR_STOP=1 -v monitor="$DATABASE_MONITOR_USER" >/dev/null \
    || say error "monitoring role $DATABASE_MONITOR_USER not ready: the Postgres exporter cannot connect"
}

schedule_backups() {
  local interval=$(( ${BACKUP_INTERVAL_HOURS:-24} * 3600 )) every="${BACKUP_FULL_EVERY:-7}"
  # Until the real server answers: on TCP, which the first boot's temporary server (for
  # initdb and init-db/) never listens on.
  until pg_isready --quiet --host=127.0.0.1 --username=postgres; do sleep 2; done
  # Existing volumes (made before backups) get their stanza here; new ones in init-db/.
  pgbackrest --stanza="$STANZA" stanza-create >/dev/null 2>&1 \
    || say error "pgbackrest stanza-create failed: WAL is not archived until it succeeds"
  # The repository's status for the worker's metrics (backup-status.sql), as the superuser
  # on the local socket.
  psql --quiet --no-psqlrc --username=postgres --dbname="${POSTGRES_DB:-postgres}" \
    -v ON_ERROR_STOP=1 -v app="${DATABASE_APP_USER:-}" \
    -f /usr/local/share/shortener/backup-status.sql >/dev/null \
    || say error "backups.repository_info() not created: no backup metrics until it is"
  [ -z "${DATABASE_MONITOR_USER:-}" ] || ensure_monitoring_role
  [ "$interval" -gt 0 ] || return 0
  local last=0 count=0 type now
  while :; do
    [ -r "$STATE" ] && read -r last count <"$STATE"
    now="$(date +%s)"
    if [ $((last + interval)) -gt "$now" ]; then
      sleep $((last + interval - now))
      continue
    fi
    type=diff
    if [ $((count % every)) -eq 0 ] || ! pgbackrest --stanza="$STANZA" info | grep -q 'full backup'; then
      type=full
    fi
    if pgbackrest --stanza="$STANZA" --type="$type" backup; then
      printf '%s %s\n' "$(date +%s)" $((count + 1)) >"$STATE.partial" && mv "$STATE.partial" "$STATE"
      say info "scheduled $type backup done"
    else
      say error "scheduled $type backup failed; retrying in 10 minutes"
      sleep 600
    fi
  done
}

# A data folder of another major, or one an upgrade replaced, never serves: the settings of
# `make db-upgrade` lost, a 17 image would otherwise serve the stale 17 data, or stop deep
# in the server's log on 18 data (docs/backups.md, "Major upgrade").
refuse_data_of_another_major() {
  local data="${PGDATA:-/var/lib/postgresql/data}" found
  if [ -s "$data/SUPERSEDED_BY_UPGRADE" ]; then
    say error "this data folder was upgraded: $(cat "$data/SUPERSEDED_BY_UPGRADE"); set POSTGRES_IMAGE, DATABASE_IMAGE and DATABASE_VOLUME as make db-upgrade wrote them (.env)"
    exit 1
  fi
  [ -s "$data/PG_VERSION" ] && [ -n "${PG_MAJOR:-}" ] || return 0
  found="$(cat "$data/PG_VERSION")"
  if [ "$found" != "$PG_MAJOR" ]; then
    say error "the data in $data is PostgreSQL ${found}'s and this image runs PostgreSQL ${PG_MAJOR}: set POSTGRES_IMAGE, DATABASE_IMAGE and DATABASE_VOLUME as make db-upgrade wrote them (.env), or upgrade the data (make db-upgrade)"
    exit 1
  fi
}

if [ "${1:-}" = --schedule ]; then
  schedule_backups
  exit 0
fi
# As postgres, the user the server runs as: started as root (development), via setpriv.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups "$@"
  else
    "$@"
  fi
}

if [ "${1:-}" = postgres ]; then
  refuse_data_of_another_major
  # A host folder as the repository (BACKUP_REPOSITORY) must be the server's to write:
  # without that every WAL segment would fail to archive, so refuse to start instead.
  if ! as_postgres test -w "$REPOSITORY"; then
    say error "the backup repository ($REPOSITORY, BACKUP_REPOSITORY) is not writable by postgres (uid $(id -u postgres)): chown 999:999 the host folder"
    exit 1
  fi
  as_postgres "$0" --schedule &
fi
exec docker-entrypoint.sh "$@"
