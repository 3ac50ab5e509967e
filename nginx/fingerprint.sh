#!/usr/bin/env bash
# Build step of the proxy image (nginx/Dockerfile): move the page's assets under
# /static/<hash of their contents>/ and point the pages at that folder. nginx then lets
# browsers keep the assets for a year (a changed file is a new path), while index.html,
# the one file with a fixed name, is revalidated on every load (docs/web.md, "Caching").
# Relative module imports (./api.js) keep working inside the folder.
#   fingerprint.sh SOURCE OUTPUT    SOURCE holds index.html, unlock.html, robots.txt, static/
set -euo pipefail
source_dir="$1"
output_dir="$2"

version="$(cd "$source_dir/static" && find . -type f -print0 | LC_ALL=C sort -z \
  | xargs -0 sha256sum | sha256sum | cut -c1-12)"
mkdir -p "$output_dir/static/$version"
cp -R "$source_dir/static/." "$output_dir/static/$version/"
cp "$source_dir/robots.txt" "$output_dir/robots.txt"
for page in index.html unlock.html; do
  sed "s#\"/static/#\"/static/$version/#g" "$source_dir/$page" >"$output_dir/$page"
  # Every asset a page names must exist: a typo fails the build, not the page.
  grep -o "\"/static/$version/[^\"]*\"" "$output_dir/$page" | tr -d '"' | while read -r path; do
    test -f "$output_dir$path" || { echo "$page names a missing asset: $path" >&2; exit 1; }
  done
done
echo "assets fingerprinted as /static/$version/"
