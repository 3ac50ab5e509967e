#!/bin/sh
# The cache's entrypoint (docker-compose.yml mounts it as the config `cache_start`):
# check the ACL secret, then run the Redis image's own entrypoint with the service's
# command, as if this script were not there.
#
# Users come from an ACL file holding only a hash of the password (scripts/secrets.sh).
# An empty ACL file would leave Redis open to anyone (Redis then makes a `default` user
# without a password), and so would a user with `nopass`: refuse to start, naming the
# secret (tests/faults/test_secret_files.py).
#
# POSIX sh, hence `set -eu` without pipefail: REDIS_IMAGE may name an image without bash.
set -eu

acl=/run/secrets/redis_users_acl
if [ ! -s "$acl" ]; then
  echo "cache: secret redis_users_acl is empty; not starting" >&2
  exit 1
fi
if grep -qw nopass "$acl"; then
  echo "cache: secret redis_users_acl allows a user without a password; not starting" >&2
  exit 1
fi

# exec: the image's entrypoint, then Redis, replace this shell as PID 1 and get SIGTERM.
exec docker-entrypoint.sh "$@"
