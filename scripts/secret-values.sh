# Sourced by scripts/secrets.sh (values made once) and scripts/rotate-secrets.sh (made
# anew): what a secret value and Redis' ACL file look like, in one place.

# 36 random bytes -> 48 URL-safe characters; no quoting issues anywhere.
random_secret() { head -c 36 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n='; }

# One user's line of the ACL file, accepting each PASSWORD given, by its SHA-256 only: the
# plain password exists only in the clients' secret file. default: the api and the
# worker, everything. monitoring: the Redis exporter (docker-compose.monitoring.yml),
# statistics only: no key, no channel, no command that reads or writes data.
redis_acl_line() { # USER PASSWORD...
  local user="$1" hashes="" password rights
  shift
  case "$user" in
    default) rights='~* &* +@all' ;;
    monitoring) rights='resetkeys resetchannels -@all +ping +info +config|get +slowlog|get +slowlog|len +latency|latest +latency|histogram +dbsize +select +client|setname' ;;
  esac
  for password in "$@"; do
    hashes+=" #$(printf '%s' "$password" | sha256sum | cut -d' ' -f1)"
  done
  printf 'user %s on%s %s\n' "$user" "$hashes" "$rights"
}

# The whole ACL file: the default user's passwords, then the monitoring user's (each a
# space-separated list: two while a rotation changes one of them).
redis_acl_file() { # "DEFAULT PASSWORDS" "MONITORING PASSWORDS"
  # shellcheck disable=SC2086  # word splitting wanted: one argument per password
  redis_acl_line default $1
  # shellcheck disable=SC2086
  redis_acl_line monitoring $2
}

# The Redis exporter reads its password from a JSON map of Redis address to password (its
# --redis.password-file), not from a plain file: this map, for the one address it scrapes.
redis_exporter_passwords() { # PASSWORD
  printf '{"redis://monitoring@cache:6379": "%s"}\n' "$1"
}
