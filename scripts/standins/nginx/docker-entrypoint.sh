#!/bin/sh
# Entrypoint of shortener-standin/nginx:1.26, like the official nginx image's: before nginx
# starts, run the executable /docker-entrypoint.d/*.sh and source the *.envsh, in order.
set -eu

log() {
  if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
    printf '%s\n' "$*"
  fi
}

if [ "${1:-}" = nginx ] || [ "${1:-}" = nginx-debug ]; then
  found=0
  for f in /docker-entrypoint.d/*; do
    [ -f "$f" ] || continue
    found=1
    case "$f" in
      *.envsh)
        # shellcheck disable=SC1090  # the scripts are the user's
        if [ -x "$f" ]; then log "$0: Sourcing $f"; . "$f"; else log "$0: Ignoring $f, not executable"; fi ;;
      *.sh)
        if [ -x "$f" ]; then log "$0: Launching $f"; "$f"; else log "$0: Ignoring $f, not executable"; fi ;;
      *) log "$0: Ignoring $f" ;;
    esac
  done
  if [ "$found" -eq 1 ]; then
    log "$0: Configuration complete; ready for start up"
  else
    log "$0: No files found in /docker-entrypoint.d/, skipping configuration"
  fi
fi

exec "$@"
