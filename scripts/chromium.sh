#!/usr/bin/env bash
# Debian's Chromium for the web page's browser tests (tests/e2e/test_web_page.py), which
# Playwright drives at /usr/bin/chromium: browser downloads (`playwright install`) are
# impossible on our machines, and the distribution's package gets its security updates.
# Skipped when already installed. Needs root (CI runs as root).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  /usr/bin/chromium --version 2>/dev/null
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium
/usr/bin/chromium --version 2>/dev/null
