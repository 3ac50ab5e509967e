#!/usr/bin/env bash
# Rotates the stack's passwords in place: `make rotate-secrets` (docs/security.md,
# "Rotating secrets"). New random values, applied to the running database and cache, then
# written into the same secret files. Nothing restarts and no data is touched: the api and
# the worker read a password file again for each new connection, connections already open
# stay authenticated, and Redis accepts the old and the new password while the files change.
#
#   scripts/rotate-secrets.sh [NAME ...] [compose arguments]
#
# NAME: database_app_password, database_owner_password, postgres_superuser_password,
# database_monitor_password, redis_password, redis_monitoring_password (none: all six; if
# monitoring runs, the Redis exporter reloads its file, the Postgres one restarts). Compose arguments name the variant, as for
# scripts/backup.sh; the files are in SECRETS_DIR (default .secrets). The stack must run:
# a password is changed where it is checked (Postgres, Redis) before its file changes.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(redis_password redis_monitoring_password database_app_password database_owner_password
  postgres_superuser_password database_monitor_password)
die() { echo "error: $*" >&2; exit 1; }

names=()
while [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ]; do
  case " ${ALL[*]} " in
    *" $1 "*) names+=("$1") ;;
    *) die "unknown secret '$1' (known: ${ALL[*]})" ;;
  esac
  shift
done
[ "${#names[@]}" -gt 0 ] || names=("${ALL[@]}")
compose=(docker compose "$@")
dir="${SECRETS_DIR:-.secrets}"

running="$("${compose[@]}" ps --status running --services)"
for service in database cache; do
  grep -qx "$service" <<<"$running" || die "the $service service is not running: start the stack first (a password changes where it is checked, then in its file)"
done

# shellcheck source=scripts/secret-values.sh
. scripts/secret-values.sh

# Rewrites FILE with VALUE in place: the same inode, which Compose bind-mounts into the
# containers, so they see the new value at once (a new file renamed over it would not be
# seen until they were recreated). The value goes to FILE.new first: should this stop
# half-way, the value already applied is there.
write_in_place() {
  local file="$1" value="$2"
  (umask 0022 && printf '%s' "$value" >"$file.new")
  cat "$file.new" >"$file"
  rm -f "$file.new"
}

# The role a password file belongs to, as the database service names it.
role_of() {
  local variable
  case "$1" in
    postgres_superuser_password) variable=POSTGRES_USER ;;
    database_owner_password) variable=DATABASE_OWNER_USER ;;
    database_app_password) variable=DATABASE_APP_USER ;;
    # Set only while docker-compose.monitoring.yml is in use; the role is not there before.
    database_monitor_password) variable=DATABASE_MONITOR_USER ;;
  esac
  "${compose[@]}" exec -T database printenv "$variable"
}

rotate_postgres() {
  local name="$1" role value
  role="$(role_of "$name")"
  value="$(random_secret)"
  # As the superuser on the local socket; the value travels on psql's standard input, never
  # on a command line. Open sessions keep working; new ones need the new password.
  "${compose[@]}" exec -T database psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 \
    --username=postgres --dbname=postgres --set=role="$role" >/dev/null <<SQL
\\set password '$value'
ALTER ROLE :"role" PASSWORD :'password';
SQL
  write_in_place "$dir/$name" "$value"
  echo "rotated $name (role $role)"
}

acl_load() {
  "${compose[@]}" exec -T cache sh -c \
    'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli --no-raw ACL LOAD' |
    grep -qx OK || die "Redis refused ACL LOAD (the ACL file in $dir is as written: check it)"
}

# The ACL file with these passwords of the user NAME's file is for, the other user's as
# they are.
acl_with() { # NAME "PASSWORDS"
  local users=("$(tr -d '\n' <"$dir/redis_password")" "$(tr -d '\n' <"$dir/redis_monitoring_password")")
  case "$1" in
    redis_password) users[0]="$2" ;;
    redis_monitoring_password) users[1]="$2" ;;
  esac
  write_in_place "$dir/redis_users.acl" "$(redis_acl_file "${users[@]}")"$'\n'
  acl_load
}

rotate_redis() {
  local name="$1" old new
  old="$(tr -d '\n' <"$dir/$name")"
  new="$(random_secret)"
  # Both passwords valid while the password file changes under the clients ...
  acl_with "$name" "$old $new"
  write_in_place "$dir/$name" "$new"
  # ... then only the new one. Connections opened with the old one stay authenticated;
  # every new connection reads the new file.
  acl_with "$name" "$new"
  echo "rotated $name (and redis_users.acl)"
}

# The Postgres exporter reads its password once, at start: a restart, if it runs, picks
# up the new one (a few seconds without those statistics; nothing else restarts).
restart_exporter() { # SERVICE
  if grep -qx "$1" <<<"$running"; then
    "${compose[@]}" restart "$1" >/dev/null
    echo "restarted $1 (it reads its password at start)"
  fi
}

# The Redis exporter reads its password file again when asked (GET /-/reload).
reload_redis_exporter() {
  if grep -qx redis-exporter <<<"$running"; then
    "${compose[@]}" exec -T redis-exporter wget -q -O /dev/null http://127.0.0.1:9121/-/reload \
      || die "the Redis exporter did not reload its password file"
    echo "reloaded redis-exporter's password file"
  fi
}

for name in "${names[@]}"; do
  [ -s "$dir/$name" ] || die "$dir/$name is missing or empty: nothing to rotate (SECRETS_DIR?)"
  case "$name" in
    redis_password) rotate_redis "$name" ;;
    redis_monitoring_password)
      rotate_redis "$name"
      write_in_place "$dir/redis_exporter_passwords.json" \
        "$(redis_exporter_passwords "$(tr -d '\n' <"$dir/$name")")"
      reload_redis_exporter
      ;;
    database_monitor_password)
      if [ -z "$("${compose[@]}" exec -T database printenv DATABASE_MONITOR_USER || true)" ]; then
        # No role to change: the file alone, which start.sh applies with monitoring.
        write_in_place "$dir/$name" "$(random_secret)"
        echo "rotated $name (the monitoring role is made from it when monitoring starts)"
      else
        rotate_postgres "$name" && restart_exporter postgres-exporter
      fi
      ;;
    *) rotate_postgres "$name" ;;
  esac
done
