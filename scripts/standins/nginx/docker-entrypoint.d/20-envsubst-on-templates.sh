#!/bin/sh
# As in the official image: every $NGINX_ENVSUBST_TEMPLATE_DIR/**/*.template (default
# /etc/nginx/templates) becomes $NGINX_ENVSUBST_OUTPUT_DIR/** (default /etc/nginx/conf.d),
# with only the variables defined in the environment substituted (nginx's own $vars survive).
set -eu
ME="$(basename "$0")"
log() {
  if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
    printf '%s\n' "$*"
  fi
}

template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
filter="${NGINX_ENVSUBST_FILTER:-}"

[ -d "$template_dir" ] || exit 0
if [ -z "$(find "$template_dir" -follow -type f -name "*$suffix" -print -quit)" ]; then
  exit 0
fi
if [ ! -w "$output_dir" ]; then
  log "$ME: ERROR: $template_dir exists, but $output_dir is not writable"
  exit 0
fi

# shellcheck disable=SC2046,SC2016  # one literal ${NAME} per defined variable, word-split on purpose
defined_envs="$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print ( name ~ /${filter}/ ) ? name : \"\" } }" </dev/null))"

find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
  relative_path="${template#"$template_dir/"}"
  output_path="$output_dir/${relative_path%"$suffix"}"
  mkdir -p "$(dirname "$output_path")"
  log "$ME: Running envsubst on $template to $output_path"
  envsubst "$defined_envs" <"$template" >"$output_path"
done
