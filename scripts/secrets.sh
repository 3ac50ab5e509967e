#!/usr/bin/env bash
# Creates the stack's secrets, once: random values in files that Compose mounts at
# /run/secrets/NAME. Existing files are kept, so running it again changes nothing.
#
#   scripts/secrets.sh [DIR]     (default: .secrets, git-ignored)
#
# The folder is private (0700) to its owner on the host; the files inside are readable
# (0644) because the containers read them as their own unprivileged users through a bind
# mount, and the folder's mode is what keeps other host users out.
set -euo pipefail

dir="${1:-.secrets}"
mkdir -p "$dir"
chmod 0700 "$dir"

# shellcheck source=scripts/secret-values.sh
. "$(dirname "${BASH_SOURCE[0]}")/secret-values.sh"

created=()
make_secret() {
  local file="${dir}/$1"
  if [ ! -s "$file" ]; then
    (umask 0022 && random_secret >"$file")
    created+=("$1")
  fi
}

make_secret postgres_superuser_password
make_secret database_owner_password
make_secret database_app_password
make_secret redis_password
# The exporters' (docker-compose.monitoring.yml): made even if monitoring never runs, so
# the ACL file below always names the same users.
make_secret database_monitor_password
make_secret redis_monitoring_password
make_secret grafana_admin_password

# Redis reads its users from an ACL file holding only a SHA-256 of each password, so the
# plain passwords exist only in the clients' secrets. Rebuilt whenever a password is new.
acl="${dir}/redis_users.acl"
if [ ! -s "$acl" ] || [ "${dir}/redis_password" -nt "$acl" ] \
  || [ "${dir}/redis_monitoring_password" -nt "$acl" ]; then
  (umask 0022 && redis_acl_file "$(tr -d '\n' <"${dir}/redis_password")" \
    "$(tr -d '\n' <"${dir}/redis_monitoring_password")" >"$acl")
  created+=(redis_users.acl)
fi

# The same password in the form the Redis exporter reads (scripts/secret-values.sh).
exporter="${dir}/redis_exporter_passwords.json"
if [ ! -s "$exporter" ] || [ "${dir}/redis_monitoring_password" -nt "$exporter" ]; then
  (umask 0022 && redis_exporter_passwords "$(tr -d '\n' <"${dir}/redis_monitoring_password")" >"$exporter")
  created+=(redis_exporter_passwords.json)
fi

if [ "${#created[@]}" -gt 0 ]; then
  echo "secrets: created ${created[*]} in ${dir}/"
fi
