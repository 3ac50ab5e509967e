#!/usr/bin/env bash
# Builds local stand-ins for the official images the project uses (python, postgres, redis,
# nginx; pebble, the TLS tests' ACME CA; prometheus, alertmanager and the postgres, redis and
# nginx exporters, the opt-in monitoring), from Debian trixie packages only: no container
# registry is reachable on the project's machines (see docs in scripts/standins/README.md).
# The exception: postgres18, the target of the major-upgrade drill, from forky's
# postgresql-18 on a forky base of its own (trixie carries one major, 17).
#
#   scripts/standins/build.sh                    # build every missing stand-in
#   scripts/standins/build.sh python postgres    # only these (the base is built if missing)
#   scripts/standins/build.sh --force [NAME...]  # rebuild even if the image exists
#   scripts/standins/build.sh --fresh-rootfs     # also re-run debootstrap (implies --force of the bases)
#
# Prints one line per image: "built TAG (SIZE, TIME)" or "already present TAG".
# Build logs go to $STANDIN_CACHE_DIR/logs/NAME.log (default /var/cache/shortener-standins).
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAMESPACE=shortener-standin
# Bases first: each derived image is built FROM one of them.
ORDER=(debian debian-forky python postgres postgres18 redis nginx pebble
  prometheus alertmanager postgres-exporter redis-exporter nginx-exporter)
declare -A TAGS=(
  [debian]="${NAMESPACE}/debian:trixie"
  [debian-forky]="${NAMESPACE}/debian:forky"
  [python]="${NAMESPACE}/python:3.13"
  [postgres]="${NAMESPACE}/postgres:17"
  [postgres18]="${NAMESPACE}/postgres:18"
  [redis]="${NAMESPACE}/redis:8"
  [nginx]="${NAMESPACE}/nginx:1.26"
  [pebble]="${NAMESPACE}/pebble:2.6"
  [prometheus]="${NAMESPACE}/prometheus:2.53"
  [alertmanager]="${NAMESPACE}/alertmanager:0.28"
  [postgres-exporter]="${NAMESPACE}/postgres-exporter:0.17"
  [redis-exporter]="${NAMESPACE}/redis-exporter:1.69"
  [nginx-exporter]="${NAMESPACE}/nginx-exporter:1.4"
)
# The Debian suite of each base, and the base of each derived image (default: debian).
declare -A SUITES=([debian]=trixie [debian-forky]=forky)
declare -A BASES=([postgres18]=debian-forky)
# Derived images whose build context or Dockerfile is not simply ./NAME/Dockerfile: both
# postgres stand-ins share one entrypoint (one contract).
declare -A CONTEXTS=([postgres18]=postgres)
declare -A DOCKERFILES=([postgres18]=Dockerfile.18)
SOURCES_FILE=/etc/apt/sources.list.d/debian.sources
HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
CACHE_DIR="${STANDIN_CACHE_DIR:-/var/cache/shortener-standins}"
LOG_DIR="${CACHE_DIR}/logs"
# The debootstrapped, stripped and configured rootfs of each suite; reused by later imports
# so that a rebuild does not debootstrap again. Its sidecar records the mirror it was made from.
rootfs_tar() { printf '%s/debian-%s-minbase.tar' "$CACHE_DIR" "$1"; }

say() { printf '%s\n' "$*"; }
die() { printf 'standins: error: %s\n' "$*" >&2; exit 1; }
trap 'rc=$?; printf "standins: error: failed at line %s (exit %s)\n" "$LINENO" "$rc" >&2; exit "$rc"' ERR

usage() {
  sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
  exit "${1:-0}"
}

force=0
fresh_rootfs=0
wanted=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --fresh-rootfs) fresh_rootfs=1 ;;
    -h|--help) usage 0 ;;
    -*) printf 'standins: unknown option %s\n' "$arg" >&2; usage 2 ;;
    *)
      [ -n "${TAGS[$arg]+x}" ] || die "unknown image '$arg' (known: ${ORDER[*]})"
      wanted+=("$arg")
      ;;
  esac
done
if [ "${#wanted[@]}" -eq 0 ]; then
  wanted=("${ORDER[@]}")
fi

docker info >/dev/null 2>&1 \
  || die "no Docker engine answers (start one with scripts/docker-engine.sh start)"

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

image_size() {
  docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1000000 }'
}

# One field of the first deb822 stanza of the system's sources file whose suites match (or,
# with "!", do not match) a pattern; the machine's own mirror, never a hard-coded host.
sources_field() { # FIELD SUITE-REGEX [negate]
  awk -v want="$1" -v re="$2" -v neg="${3:-0}" '
    BEGIN { RS = ""; FS = "\n" }
    {
      val = ""; suites = ""
      for (i = 1; i <= NF; i++) {
        split($i, kv, ":[ \t]*")
        if (kv[1] == want) { val = substr($i, length(kv[1]) + 2); sub(/^[ \t]+/, "", val) }
        if (kv[1] == "Suites") suites = $i
      }
      hit = (suites ~ re)
      if (neg) hit = !hit
      if (hit && val != "") { split(val, first, /[ \t]+/); print first[1]; exit }
    }' "$SOURCES_FILE"
}

[ -r "$SOURCES_FILE" ] || die "$SOURCES_FILE not found: it names the Debian mirror to use"
MIRROR="$(sources_field URIs '-security' 1)"
[ -n "$MIRROR" ] || die "no URIs: line for the main archive in $SOURCES_FILE"
SECURITY_MIRROR="$(sources_field URIs '-security')"
KEYRING="$(sources_field Signed-By '-security' 1)"
if [ -z "$KEYRING" ] || [ ! -f "$KEYRING" ]; then
  KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
fi

mkdir -p "$LOG_DIR" 2>/dev/null || die "cannot create $LOG_DIR (run as root, or set STANDIN_CACHE_DIR)"

# Unmounts anything debootstrap left mounted under DIR (it mounts proc/sys in the target),
# then removes DIR without ever crossing into a mount.
remove_tree() {
  local dir="$1" mnt
  [ -d "$dir" ] || return 0
  while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v d="$dir" 'index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r)
  rm -rf --one-file-system "$dir"
}

make_rootfs() {
  local suite="$1" log="$2" work rootfs script=()
  [ "$(id -u)" -eq 0 ] || die "debootstrap needs root (run as root)"
  if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap" >>"$log"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } >>"$log" 2>&1 \
      || die "could not install debootstrap (see $log)"
  fi
  work="$(mktemp -d "${CACHE_DIR}/rootfs.XXXXXX")"
  rootfs="${work}/rootfs"
  # shellcheck disable=SC2064  # expand now: the path is fixed
  trap "remove_tree '$work'" EXIT
  # A debootstrap older than the suite has no script for it: testing's is sid's.
  [ -e "/usr/share/debootstrap/scripts/${suite}" ] || script=(/usr/share/debootstrap/scripts/sid)
  if ! debootstrap --variant=minbase --keyring="$KEYRING" "$suite" "$rootfs" "$MIRROR" "${script[@]}" >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "debootstrap $suite from $MIRROR failed (full log: $log)"
  fi

  # apt inside the image uses the same mirror as the host (deb822, like official images).
  rm -f "${rootfs}/etc/apt/sources.list"
  local keyring_in_image=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -e "${rootfs}${keyring_in_image}" ] || keyring_in_image=/usr/share/keyrings/debian-archive-keyring.pgp
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n' \
      "$MIRROR" "$suite" "$suite" "$keyring_in_image"
    if [ -n "$SECURITY_MIRROR" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
        "$SECURITY_MIRROR" "$suite" "$keyring_in_image"
    fi
  } >"${rootfs}/etc/apt/sources.list.d/debian.sources"

  # The same container tweaks as the official debian images (debuerreotype): no service
  # starts during package installs, no apt caches or translations kept, and (as in the
  # -slim variants) dpkg never installs docs, man pages or locales in derived images.
  printf '#!/bin/sh\nexit 101\n' >"${rootfs}/usr/sbin/policy-rc.d"
  chmod 0755 "${rootfs}/usr/sbin/policy-rc.d"
  cat >"${rootfs}/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  printf 'Acquire::Languages "none";\n' >"${rootfs}/etc/apt/apt.conf.d/docker-no-languages"
  if [ "$suite" != trixie ]; then
    # Testing's Release files expire within days (Valid-Until), and a mirror serving a
    # snapshot serves them expired (forky's: a month, seen on the project's machines);
    # apt then refuses the suite. Signatures are still checked; only the date is not.
    printf 'Acquire::Check-Valid-Until "false";\n' >"${rootfs}/etc/apt/apt.conf.d/docker-snapshot-mirror"
  fi
  printf 'Acquire::GzipIndexes "true";\n' >"${rootfs}/etc/apt/apt.conf.d/docker-gzip-indexes"
  printf 'Apt::AutoRemove::SuggestsImportant "false";\n' >"${rootfs}/etc/apt/apt.conf.d/docker-autoremove-suggests"
  cat >"${rootfs}/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF

  # Strip what a container never needs (a fresh minbase is ~200 MB, mostly this).
  rm -rf "${rootfs}"/var/lib/apt/lists/* "${rootfs}"/var/cache/apt/* \
    "${rootfs}"/usr/share/man/* "${rootfs}"/usr/share/info/* "${rootfs}"/usr/share/groff/* \
    "${rootfs}"/usr/share/locale/* "${rootfs}"/usr/share/lintian/* "${rootfs}"/var/cache/debconf/*-old \
    "${rootfs}"/var/lib/dpkg/*-old "${rootfs}"/var/log/* "${rootfs}"/debootstrap \
    "${rootfs}"/tmp/* "${rootfs}"/var/tmp/*
  find "${rootfs}/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "${rootfs}/usr/share/doc" -mindepth 1 -type d -empty -delete
  # Docker provides these at run time; the host's copies must not leak into the image.
  rm -f "${rootfs}/etc/hostname" "${rootfs}/etc/resolv.conf" "${rootfs}/etc/machine-id"
  : >"${rootfs}/etc/resolv.conf"
  find "${rootfs}/dev" -mindepth 1 -delete

  local tar
  tar="$(rootfs_tar "$suite")"
  tar -C "$rootfs" --numeric-owner -cf "${tar}.tmp" .
  mv "${tar}.tmp" "$tar"
  printf '%s\n' "$MIRROR" >"${tar}.mirror"
  remove_tree "$work"
  trap - EXIT
}

build_debian() {
  local suite="$1" tag="$2" log="$3" tar
  tar="$(rootfs_tar "$suite")"
  if [ "$fresh_rootfs" -eq 1 ] || [ ! -s "$tar" ] \
    || [ "$(cat "${tar}.mirror" 2>/dev/null)" != "$MIRROR" ]; then
    make_rootfs "$suite" "$log"
  else
    say "reusing cached rootfs $tar" >>"$log"
  fi
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --message "debootstrap --variant=minbase $suite from $MIRROR" \
    - "$tag" <"$tar" >>"$log" 2>&1 || die "docker import of $tar failed (see $log)"
}

build_derived() {
  local name="$1" tag="$2" log="$3" tmp=""
  local context="${HERE}/${CONTEXTS[$name]:-$name}"
  local dockerfile="${DOCKERFILES[$name]:-Dockerfile}"
  if [ "$name" = python ]; then
    # The host's trust store goes into the image (public CA material) so that pip inside
    # builds trusts the same authorities as the host; the context is a temp copy so the
    # bundle never lands in the repository.
    [ -r "$HOST_CA_BUNDLE" ] || die "$HOST_CA_BUNDLE not readable: the python stand-in needs the host trust store"
    tmp="$(mktemp -d)"
    cp -a "${context}/." "$tmp/"
    cp "$HOST_CA_BUNDLE" "${tmp}/host-ca-certificates.crt"
    context="$tmp"
  fi
  local rc=0
  DOCKER_BUILDKIT=1 docker build --progress=plain -t "$tag" -f "${context}/${dockerfile}" "$context" >>"$log" 2>&1 || rc=$?
  [ -z "$tmp" ] || rm -rf "$tmp"
  if [ "$rc" -ne 0 ]; then
    tail -n 30 "$log" >&2
    die "docker build of $tag failed (full log: $log)"
  fi
}

build_one() {
  local name="$1" tag="${TAGS[$1]}" log="${LOG_DIR}/$1.log" start="$SECONDS"
  : >"$log"
  if [ -n "${SUITES[$name]+x}" ]; then
    build_debian "${SUITES[$name]}" "$tag" "$log"
  else
    build_derived "$name" "$tag" "$log"
  fi
  say "built $tag ($(image_size "$tag"), $((SECONDS - start)) s)"
}

# A base comes first whenever a derived image of it will be built and it is missing; a
# base nothing wanted derives from is not built (forky only for postgres18).
declare -A need_base=()
for name in "${wanted[@]}"; do
  if [ -n "${SUITES[$name]+x}" ]; then
    need_base[$name]=1
  else
    base="${BASES[$name]:-debian}"
    if [ "$fresh_rootfs" -eq 1 ]; then
      need_base[$base]=1
    elif [ "$force" -eq 1 ] || ! image_exists "${TAGS[$name]}"; then
      image_exists "${TAGS[$base]}" || need_base[$base]=1
    fi
  fi
done

for name in "${ORDER[@]}"; do
  if [ -n "${SUITES[$name]+x}" ]; then
    [ -n "${need_base[$name]+x}" ] || continue
  else
    is_wanted=0
    for w in "${wanted[@]}"; do [ "$w" = "$name" ] && is_wanted=1; done
    [ "$is_wanted" -eq 1 ] || continue
  fi
  if image_exists "${TAGS[$name]}" && [ "$force" -eq 0 ] \
    && { [ -z "${SUITES[$name]+x}" ] || [ "$fresh_rootfs" -eq 0 ]; }; then
    say "already present ${TAGS[$name]}"
    continue
  fi
  build_one "$name"
done
