#!/usr/bin/env bash
# `make test`: every tier; exits non-zero if any tier fails, naming it.
#
# lint, unit and integration run first, one after the other (about a minute). The e2e and
# faults tiers, which boot compose projects of their own, then run side by side: they
# spend most of their time waiting on containers (health, restarts, a 60 s soak), so on
# 2 cores this saves about 3 minutes of a warm CI run; the fault tests assert bounds
# chosen for a busy machine. The TLS tier follows the e2e tier in its lane, the backup
# drills the faults tier in its (each lane about 10-11 minutes of a CI run: e2e 7, TLS 3;
# faults 5, backups 5.5). Each lane's output is printed when it ends. The swarm tier
# runs last, alone: turning the engine into a swarm node disturbs the embedded DNS of
# compose projects running at that moment (seen on engine 20.10: "Temporary failure in
# name resolution" for `cache` inside a running e2e stack).
set -uo pipefail

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

tier() {  # tier NAME: run `make NAME`, note a failure
  echo "==== $1 ===="
  make --no-print-directory "$1" || echo "$1" >>"$logs/failed"
}

lane() {  # lane LOG TIER...: the tiers one after another, output into LOG
  local log="$logs/$1"
  shift
  for name in "$@"; do tier "$name"; done >"$log" 2>&1
}

for name in lint test-unit test-integration; do tier "$name"; done

lane e2e.log test-e2e test-tls test-monitoring &
lane faults.log test-faults test-backups &
wait
cat "$logs/e2e.log" "$logs/faults.log"

tier test-swarm

if [ -s "$logs/failed" ]; then
  echo "FAILED tiers: $(tr '\n' ' ' <"$logs/failed")"
  exit 1
fi
echo "all tiers passed"
