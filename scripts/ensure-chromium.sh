#!/usr/bin/env bash
# The UI browser test (tests/ui/test_browser.py) drives Debian's headless Chromium with Selenium; this makes sure
# the browser and its driver exist (like ensure-postgres.sh for the database). Only Debian packages, no downloads.
set -euo pipefail
have_chromium() {
  command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1
}
if have_chromium; then
  echo "==> chromium and chromedriver found"
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "==> installing chromium and chromium-driver from the OS packages (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
  have_chromium && exit 0
fi
cat >&2 <<'MSG'
chromium and chromedriver are missing and could not be installed automatically; the UI browser test needs them.
  Debian/Ubuntu:  sudo apt-get install chromium chromium-driver
MSG
exit 1
