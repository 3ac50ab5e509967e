#!/bin/sh
# Entrypoint of shortener-standin/redis:8, a stand-in for the official redis:8 image.
set -eu

# `docker run IMAGE --appendonly yes` or `docker run IMAGE /path/redis.conf` means
# redis-server with those arguments, as in the official image.
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi

if [ "$1" = redis-server ]; then
  # Started as root (e.g. `user: root`): give /data to redis and re-run as redis.
  if [ "$(id -u)" -eq 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
  fi

  # The official image is compiled with protected mode off (the container network is the
  # protection). Debian's binary has it on, which refuses non-loopback clients of a server
  # without a password or ACL; so, unless a config file is given (it then decides) or the
  # option is already present, switch it off on the command line.
  case "${2:-}" in
    -*|'') case " $* " in
             *" --protected-mode "*) ;;
             *) shift; set -- redis-server --protected-mode no "$@" ;;
           esac ;;
  esac

  # Files written to /data (RDB, AOF) are private, as with the official image's umask.
  if [ "$(umask)" = 0022 ]; then
    umask 0077
  fi
fi

exec "$@"
