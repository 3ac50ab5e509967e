#!/usr/bin/env bash
# Backups of the database with pgBackRest (docs/backups.md): `make backup`, `make backups`,
# `make backup-check`, `make restore`.
#
#   scripts/backup.sh backup [full|diff]  [compose arguments]   a base backup now (full default)
#   scripts/backup.sh list                [compose arguments]   backups, sizes, the restorable range
#   scripts/backup.sh check               [compose arguments]   archiving works; every file's checksum
#   scripts/backup.sh restore [--target-time TIME] --confirm [compose arguments]
#
# Compose arguments name the variant (e.g. -f docker-compose.yml -f docker-compose.prod.yml);
# none: development's. restore brings the database back to TIME (a PostgreSQL timestamp,
# e.g. "2026-12-07 05:20:00+00"), or to the last archived WAL; it refuses to run without
# --confirm (it replaces the live data) or when the repository fails its check.
set -euo pipefail
cd "$(dirname "$0")/.."

STANZA=shortener
die() { echo "error: $*" >&2; exit 1; }

command="${1:-}"
shift || true
type=full target="" confirmed=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    full | diff) type="$1" ;;
    --target-time) target="${2:?--target-time needs a time}"; shift ;;
    --confirm) confirmed=1 ;;
    *) break ;;
  esac
  shift
done
compose=(docker compose "$@")

# pgBackRest in the running database container, as postgres.
in_database() { "${compose[@]}" exec -T database pgbackrest --stanza="$STANZA" "$@"; }
# pgBackRest in a one-off container of the database service: the same image, volumes and
# hardening, whether the database runs or not (a restore needs it stopped).
beside_database() {
  "${compose[@]}" run --rm --no-deps -T --entrypoint pgbackrest database --stanza="$STANZA" "$@"
}

# Every file in the repository against its checksum. pgBackRest's verify reports what it
# found and exits 0 either way: its "status: error" is the verdict, and its --verbose lines
# name each bad file.
verify_repository() {
  local report
  report="$(beside_database verify --verbose 2>&1)" || { printf '%s\n' "$report" >&2; return 1; }
  if grep -q 'status: error' <<<"$report"; then
    echo "the backup repository holds damaged or missing files:" >&2
    grep -oE "(invalid checksum|invalid size|missing|file missing) '[^']+'" <<<"$report" | sed 's/^/  /' >&2
    return 1
  fi
}

case "$command" in
  backup)
    in_database stanza-create >/dev/null
    in_database --type="$type" backup
    in_database info
    ;;
  list) in_database info ;;
  check)
    # check: a WAL segment switched and archived now; verify: every file in the
    # repository against its checksum.
    in_database check
    verify_repository || die "the backup repository failed its check"
    echo "backup repository: archiving works, every file matches its checksum"
    ;;
  restore)
    [ "$confirmed" -eq 1 ] || die "restore replaces the database's data: add --confirm (make restore CONFIRM=yes)"
    echo "checking the repository before touching the database ..."
    verify_repository || die "the backup repository failed its check (above); the database is untouched"
    restore=(--delta)
    if [ -n "$target" ]; then
      # Replay WAL up to TIME, then open for writes (a new timeline).
      restore+=(--type=time "--target=$target" --target-action=promote)
    fi
    # The worker writes clicks: stopped, it resumes from the click stream afterwards. The
    # api stays: cached redirects keep answering, writes answer 503 meanwhile.
    "${compose[@]}" stop worker database
    beside_database "${restore[@]}" restore
    # --no-recreate: the api and proxy that kept answering stay as they are; only what is
    # stopped or gone (the database, the worker, migrate) starts.
    "${compose[@]}" up --detach --wait --no-recreate database
    # Healthy comes early: once consistent, the replaying server accepts connections,
    # read-only (writes answer 503). The writers start once it is promoted.
    until [ "$("${compose[@]}" exec -T database psql -U postgres -tAc 'SELECT pg_is_in_recovery()')" = f ]; do
      sleep 1
    done
    # migrate (the schema the restored data needs), then everything else, health-gated.
    "${compose[@]}" up --detach --wait --no-recreate
    # Redirects cached before the restore may name links the restored data lacks.
    "${compose[@]}" exec -T cache sh -c 'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli --no-raw EVAL "local n = 0 for _, k in ipairs(redis.call(\"KEYS\", \"link:*\")) do redis.call(\"DEL\", k) n = n + 1 end return n" 0' >/dev/null
    echo "restored${target:+ to $target}; the stack is up"
    ;;
  *) sed -n '2,14s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
