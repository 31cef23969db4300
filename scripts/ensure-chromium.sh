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
# shellcheck source=lib/os-packages.sh
. "$(dirname "$0")/lib/os-packages.sh"
install_os_packages "chromium and chromium-driver" chromium chromium-driver && have_chromium && exit 0
cat >&2 <<'MSG'
chromium and chromedriver are missing and could not be installed automatically; the UI browser test needs them.
  Debian/Ubuntu:  sudo apt-get install chromium chromium-driver
MSG
exit 1
