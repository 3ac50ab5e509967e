#!/usr/bin/env bash
# A PostgreSQL major upgrade of the running variant's database, and the way back
# (docs/backups.md, "Major upgrade"): `make db-upgrade`, `make db-upgrade-rollback`.
#
#   scripts/db-upgrade.sh upgrade  --confirm [--to IMAGE] [--settings FILE] [compose arguments]
#   scripts/db-upgrade.sh rollback --confirm [--settings FILE] [compose arguments]
#
# upgrade: every role (with its password), grant, default privilege, schema and row, dumped
# from the current server (pg_dumpall) and restored into a new cluster of IMAGE's major
# (default $POSTGRES_UPGRADE_IMAGE, else postgres:18-trixie) on a volume of its own,
# database-data-MAJOR. The old volume is kept as it was, for the way back. The settings
# that keep the new version (POSTGRES_IMAGE, DATABASE_IMAGE, DATABASE_VOLUME) and those of
# the way back are written to FILE (default .env, which compose and make read).
# rollback: the image and volume from before the upgrade again; writes made since the
# upgrade stay in the new volume only. Both refuse to run without --confirm.
set -euo pipefail
cd "$(dirname "$0")/.."

STANZA=shortener
DATA=/var/lib/postgresql/data  # PGDATA in docker-compose.yml, for every major
# Left in an old data folder by an upgrade: database/start.sh refuses to serve it.
SUPERSEDED=SUPERSEDED_BY_UPGRADE
SETTINGS=(POSTGRES_IMAGE DATABASE_IMAGE DATABASE_VOLUME)
die() { echo "error: $*" >&2; exit 1; }
say() { echo "db-upgrade: $*"; }
since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

command="${1:-}"
shift || true
confirmed=0 to="${POSTGRES_UPGRADE_IMAGE:-postgres:18-trixie}" settings_file=.env
while [ "$#" -gt 0 ]; do
  case "$1" in
    --confirm) confirmed=1 ;;
    --to) to="${2:?--to needs an image}"; shift ;;
    --settings) settings_file="${2:?--settings needs a file}"; shift ;;
    *) break ;;
  esac
  shift
done
compose=(docker compose "$@")

# ---- the settings file: KEY=value lines this script owns, the rest left as it is --------
setting() { # KEY: its value in the settings file, if any
  if [ -r "$settings_file" ]; then sed -n "s/^$1=//p" "$settings_file" | tail -n1; fi
}
write_settings() { # KEY=value...: replaces those keys' lines (and every PREVIOUS_ one)
  local pair keep tmp="${settings_file}.partial"
  keep="$(grep -vE "^(DATABASE_PREVIOUS_[A-Z_]+|$(IFS='|'; echo "${SETTINGS[*]}"))=|^# db-upgrade: " \
    "$settings_file" 2>/dev/null || true)"
  {
    [ -z "$keep" ] || printf '%s\n' "$keep"
    echo "# db-upgrade: $(date -u +%FT%TZ), PostgreSQL $new_major (docs/backups.md, \"Major upgrade\")"
    for pair in "$@"; do printf '%s\n' "$pair"; done
  } >"$tmp"
  mv "$tmp" "$settings_file"
}

# ---- what compose runs now ------------------------------------------------------------
# The database service's image, base image and data volume as compose resolves them (the
# environment, then .env, then the defaults in docker-compose.yml).
read -r project current_image current_base current_volume < <(
  "${compose[@]}" config --format json | python3 -c '
import json, sys
config = json.load(sys.stdin)
database = config["services"]["database"]
volume = next(v["source"] for v in database["volumes"] if v["target"] == "'"$DATA"'")
print(config["name"], database["image"], database["build"]["args"]["POSTGRES_IMAGE"], volume)')

# Compose of one database generation: its image, base image and volume, whatever .env says.
generation() { # IMAGE BASE VOLUME
  printf '%s\n' env "DATABASE_IMAGE=$1" "POSTGRES_IMAGE=$2" "DATABASE_VOLUME=$3" "${compose[@]}"
}

running_major() { # of the running database server, from the server itself
  local number
  number="$("${compose[@]}" exec -T database psql -U postgres -d postgres -tAX -c 'SHOW server_version_num')" \
    || die "the database does not answer: start the variant first (make up / make prod-up)"
  echo $((number / 10000))
}

image_major() { # IMAGE: PG_MAJOR, as both the official images and the stand-ins set it
  docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$1" | sed -n 's/^PG_MAJOR=//p'
}

# pgBackRest after a switch of major: the stanza follows the new cluster (stanza-upgrade,
# retried while start.sh's own stanza-create holds the lock), archiving is checked, and a
# full backup is taken: backups of the old major cannot be restored into the new one.
follow_with_backups() { # COMPOSE...
  local attempt
  for attempt in 1 2 3 4 5 6; do
    "$@" exec -T database pgbackrest --stanza="$STANZA" stanza-upgrade && break
    [ "$attempt" -lt 6 ] || die "pgbackrest stanza-upgrade failed (above): WAL is not archived"
    sleep 5
  done
  "$@" exec -T database pgbackrest --stanza="$STANZA" check
  "$@" exec -T database pgbackrest --stanza="$STANZA" --type=full backup
}

# ---- the two containers of the switch ---------------------------------------------------
# Each a one-off container of the database service (its image, volumes and hardening), its
# server on the local socket only: nothing else can connect, nothing is archived.
# --clean: only then does the dump carry the rights of the postgres and template1 databases
# themselves (init-db/ revokes PUBLIC's); without it they would be the defaults again.
LOCAL_SERVER='pg_ctl -D "$PGDATA" -w -l /tmp/upgrade-server.log -o "-c listen_addresses= -c archive_mode=off"'
DUMP='set -euo pipefail
'"$LOCAL_SERVER"' start >&2
pg_dumpall --username="$POSTGRES_USER" --clean --if-exists
pg_ctl -D "$PGDATA" -w -m fast stop >&2'
# initdb as the images'"'"' entrypoints do it; then the old cluster'"'"'s access rules and
# ALTER SYSTEM settings (tar on stdin), so it admits whom it admitted before.
INIT='set -euo pipefail
[ ! -s "$PGDATA/PG_VERSION" ] || { echo "$PGDATA is not empty" >&2; exit 1; }
initdb --username="$POSTGRES_USER" --pwfile="$POSTGRES_PASSWORD_FILE" --auth-local=trust --auth-host=scram-sha-256 >&2
tar -C "$PGDATA" -xf -'
# The dump on stdin; planner statistics rebuilt before anything queries the new cluster.
RESTORE='set -euo pipefail
'"$LOCAL_SERVER"' start >&2 || { cat /tmp/upgrade-server.log >&2; exit 1; }
PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 --username="$POSTGRES_USER" -d postgres >/dev/null
vacuumdb --username="$POSTGRES_USER" --all --analyze-only --quiet
pg_ctl -D "$PGDATA" -w -m fast stop >&2'

one_off() { # COMPOSE... -- SCRIPT
  local args=()
  while [ "$1" != -- ]; do args+=("$1"); shift; done
  "${args[@]}" run --rm --no-deps -T --entrypoint bash database -c "$2"
}

# The dump replays into a cluster that already has its bootstrap superuser: the two
# statements about that role in the dump's global part (before its first \connect) would
# fail, so they go; its ALTER ROLE (attributes, password) stays.
without_bootstrap_role() {
  awk -v user="$1" 'BEGIN { global = 1 } /^\\connect / { global = 0 }
    global && ($0 == "DROP ROLE IF EXISTS " user ";" || $0 == "CREATE ROLE " user ";") { next }
    { print }'
}

upgrade() {
  [ "$confirmed" -eq 1 ] || die "the upgrade stops the database and switches it to a new volume: add --confirm (make db-upgrade CONFIRM=yes)"
  local old_major new_image new_volume superuser
  old_major="$(running_major)"
  superuser="$("${compose[@]}" exec -T database sh -c 'echo "${POSTGRES_USER:-postgres}"')"

  # The new image first, while everything still serves: building is no downtime.
  new_image="${current_image%:*}:pg-next"
  [[ "${current_image##*/}" == *:* ]] || new_image="${current_image}:pg-next"
  env DATABASE_IMAGE="$new_image" POSTGRES_IMAGE="$to" "${compose[@]}" build database
  new_major="$(image_major "$new_image")"
  [ -n "$new_major" ] || die "$to sets no PG_MAJOR: is it a postgres image?"
  [ "$new_major" -gt "$old_major" ] || die "the database runs PostgreSQL $old_major; $to is $new_major: nothing to upgrade"
  docker image tag "$new_image" "${new_image%:pg-next}:pg$new_major"
  docker image rm "$new_image" >/dev/null
  new_image="${new_image%:pg-next}:pg$new_major"
  new_volume="database-data-$new_major"
  if docker volume inspect "${project}_${new_volume}" >/dev/null 2>&1; then
    die "the volume ${project}_${new_volume} exists (an earlier attempt?): nothing was changed. Look inside, then remove it (docker volume rm ${project}_${new_volume}) to try again"
  fi
  mapfile -t old < <(generation "$current_image" "$current_base" "$current_volume")
  mapfile -t new < <(generation "$new_image" "$to" "$new_volume")
  say "PostgreSQL $old_major -> $new_major: volume $current_volume -> $new_volume, image $current_image -> $new_image"

  # From here the database is down: a failure brings the old one back, the new volume goes.
  # (The trap runs after this function's locals are gone: globals only.)
  started="$(date +%s.%N)" back_on_failure="${project}_${new_volume}"
  trap 'echo "error: the upgrade failed (above); bringing the database back as it was" >&2
    "${old[@]}" up --detach --wait --no-recreate >&2 || true
    docker volume rm "$back_on_failure" >/dev/null 2>&1 || true' EXIT
  # The worker writes clicks: stopped, they wait in the stream. The api stays: cached
  # redirects keep answering, writes answer 503 until the database is back.
  "${compose[@]}" stop worker database
  say "$(since "$started") s: worker and database stopped"
  one_off "${old[@]}" -- 'tar -C "$PGDATA" -cf - pg_hba.conf pg_ident.conf postgresql.auto.conf' \
    | one_off "${new[@]}" -- "$INIT"
  say "$(since "$started") s: PostgreSQL $new_major cluster made"
  one_off "${old[@]}" -- "$DUMP" | without_bootstrap_role "$superuser" | one_off "${new[@]}" -- "$RESTORE"
  say "$(since "$started") s: dumped and restored"
  # The old data folder says what replaced it: started again by mistake (the settings
  # lost), it refuses to serve stale data (database/start.sh).
  one_off "${old[@]}" -- "printf '%s\n' 'PostgreSQL $new_major in volume ${project}_${new_volume} since $(date -u +%FT%TZ) (make db-upgrade); the way back: make db-upgrade-rollback' >\"\$PGDATA/$SUPERSEDED\""
  write_settings "POSTGRES_IMAGE=$to" "DATABASE_IMAGE=$new_image" "DATABASE_VOLUME=$new_volume" \
    "DATABASE_PREVIOUS_POSTGRES_IMAGE=$current_base" "DATABASE_PREVIOUS_IMAGE=$current_image" \
    "DATABASE_PREVIOUS_VOLUME=$current_volume"
  trap - EXIT

  # The new server, migrate (the schema at the code's version), then everything else,
  # health-gated; the api and proxy that kept answering stay as they are.
  "${new[@]}" up --detach --wait database
  say "$(since "$started") s: PostgreSQL $new_major serving"
  "${new[@]}" up --detach --wait --no-recreate
  say "downtime: $(since "$started") s (worker and database stopped until the stack was healthy again)"
  follow_with_backups "${new[@]}"
  say "upgraded to PostgreSQL $new_major; settings kept in $settings_file:"
  grep -E "^($(IFS='|'; echo "${SETTINGS[*]}"))=" "$settings_file" | sed 's/^/  /'
  say "the PostgreSQL $old_major data stays in ${project}_${current_volume} (the way back: make db-upgrade-rollback CONFIRM=yes);"
  say "once you no longer need it: docker volume rm ${project}_${current_volume}"
}

rollback() {
  [ "$confirmed" -eq 1 ] || die "the way back replaces the running database with the one from before the upgrade: add --confirm (make db-upgrade-rollback CONFIRM=yes)"
  local back_base back_image back_volume
  back_base="$(setting DATABASE_PREVIOUS_POSTGRES_IMAGE)"
  back_image="$(setting DATABASE_PREVIOUS_IMAGE)"
  back_volume="$(setting DATABASE_PREVIOUS_VOLUME)"
  [ -n "$back_base" ] && [ -n "$back_image" ] && [ -n "$back_volume" ] \
    || die "$settings_file records no upgrade to go back from (DATABASE_PREVIOUS_* settings)"
  docker volume inspect "${project}_${back_volume}" >/dev/null 2>&1 \
    || die "the volume ${project}_${back_volume} is gone: no way back but a restore (docs/backups.md)"
  mapfile -t back < <(generation "$back_image" "$back_base" "$back_volume")
  "${back[@]}" build database
  new_major="$(image_major "$back_image")"
  say "back to PostgreSQL $new_major on ${project}_${back_volume}; writes since the upgrade stay in ${project}_${current_volume} only"

  # The newer major's container goes with its anonymous volumes (the 18+ images declare one
  # at /var/lib/postgresql; the data is in the named volume, which stays).
  "${compose[@]}" stop worker
  "${compose[@]}" rm --stop --force --volumes database
  one_off "${back[@]}" -- "rm -f \"\$PGDATA/$SUPERSEDED\""
  write_settings "POSTGRES_IMAGE=$back_base" "DATABASE_IMAGE=$back_image" "DATABASE_VOLUME=$back_volume"
  "${back[@]}" up --detach --wait database
  "${back[@]}" up --detach --wait --no-recreate
  follow_with_backups "${back[@]}"
  say "rolled back to PostgreSQL $new_major; settings kept in $settings_file"
  say "the newer data stays in ${project}_${current_volume}; once you no longer need it: docker volume rm ${project}_${current_volume}"
}

case "$command" in
  upgrade) upgrade ;;
  rollback) rollback ;;
  *) sed -n '2,15s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
